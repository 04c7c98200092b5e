{{ config(materialized='table', schema='intermediate', tags=['entities']) }}

{#- The golden record of each enterprise. Survivorship:
      uscc                   the valid credit code that keys the enterprise (null for firms
                             known only by a legacy number or a name)
      registration_no        market supervision register; else the most frequent valid one
      enterprise_name, address, district_code
                             market supervision register (msa_enterprise_registration);
                             else the most frequent name / the most recent address and district
      phone                  the most recent non-null value
      legal representative   the register's legal_rep mention, resolved to its citizen -#}

with

mentions as (

    select
        x.enterprise_key,
        x.match_rule,
        e.*
    from {{ ref('int_enterprise_crosswalk') }} as x
    inner join {{ ref('int_enterprise_mentions') }} as e using (mention_id)

),

register as (

    select
        enterprise_key,
        source_id,
        record_key,
        registration_no,
        enterprise_name,
        address,
        district_code
    from mentions
    where source_id = 'msa_enterprise_registration'
    qualify row_number() over (
            partition by enterprise_key order by event_date desc nulls last, _loaded_at desc, mention_id asc
        ) = 1

),

legal_rep as (

    select
        r.enterprise_key,
        g.citizen_key,
        g.resident_id,
        g.name
    from register as r
    inner join {{ ref('int_citizen_crosswalk') }} as x
        on r.source_id = x.source_id and r.record_key = x.record_key and x.role = 'legal_rep'
    inner join {{ ref('int_citizen_golden') }} as g on x.citizen_key = g.citizen_key

),

name_counts as (

    select
        enterprise_key,
        enterprise_name,
        count(*) as mentions_with_name,
        max(event_date) as last_named_on
    from mentions
    where enterprise_name is not null
    group by enterprise_key, enterprise_name

),

frequent_name as (

    select
        enterprise_key,
        enterprise_name
    from name_counts
    qualify row_number() over (
            partition by enterprise_key
            order by mentions_with_name desc, last_named_on desc nulls last, enterprise_name
        ) = 1

),

registration_counts as (

    select
        enterprise_key,
        registration_no,
        count(*) as mentions_with_registration
    from mentions
    where match_rule in ('uscc', 'registration_no') and {{ regexp_matches('registration_no', '^[0-9]{15}$') }}
    group by enterprise_key, registration_no

),

frequent_registration as (

    select
        enterprise_key,
        registration_no
    from registration_counts
    qualify row_number() over (
            partition by enterprise_key order by mentions_with_registration desc, registration_no
        ) = 1

),

latest_address as (

    select
        enterprise_key,
        address,
        district_code
    from mentions
    where address is not null or district_code is not null
    qualify row_number() over (
            partition by enterprise_key
            order by (address is not null) desc, event_date desc nulls last, _loaded_at desc, mention_id asc
        ) = 1

),

latest_phone as (

    select
        enterprise_key,
        phone
    from mentions
    where phone is not null
    qualify row_number() over (
            partition by enterprise_key order by event_date desc nulls last, _loaded_at desc, mention_id asc
        ) = 1

),

enterprises as (

    select
        enterprise_key,
        count(*) as mention_count,
        count(distinct source_id) as source_count,
        bool_or(source_id = 'msa_enterprise_registration') as in_market_register,
        {{ sorted_distinct_csv('match_rule') }} as match_rules
    from mentions
    group by enterprise_key

)

select
    e.enterprise_key,
    case when {{ uscc_is_valid('e.enterprise_key') }} then e.enterprise_key end as uscc,
    coalesce(r.registration_no, f.registration_no) as registration_no,
    coalesce(r.enterprise_name, n.enterprise_name) as enterprise_name,
    case when r.enterprise_name is not null then 'market_register' else 'most_frequent' end as name_source,
    coalesce(r.address, a.address) as address,
    coalesce(r.district_code, a.district_code) as district_code,
    p.phone,
    l.citizen_key as legal_rep_citizen_key,
    l.resident_id as legal_rep_resident_id,
    l.name as legal_rep_name,
    e.in_market_register,
    e.mention_count,
    e.source_count,
    e.match_rules
from enterprises as e
left join register as r using (enterprise_key)
left join legal_rep as l using (enterprise_key)
left join frequent_name as n using (enterprise_key)
left join frequent_registration as f using (enterprise_key)
left join latest_address as a using (enterprise_key)
left join latest_phone as p using (enterprise_key)
