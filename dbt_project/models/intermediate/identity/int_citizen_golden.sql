{{ config(materialized='table', schema='intermediate', tags=['entities']) }}

{#- The golden record of each citizen, identified (raw resident ID, name, phone).
    Survivorship, attribute by attribute:
      resident_id            the valid ID that anchors the citizen (none for ID-less ones)
      name                   household register (ps_household_registration); else the most
                             frequent Chinese-character name among the mentions (then the
                             most recent); else a romanized one
      birth_date, gender     household register; else decoded from the resident ID; else
                             the most frequent value
      phone, address         the most recent non-null value (event date, then load time)
      district/street/community  household register; else the most recent non-null value
    Shared marts expose only dim_citizen's pseudonymous, masked view of this. -#}

with

mentions as (

    select
        x.citizen_key,
        x.match_rule,
        p.*
    from {{ ref('int_citizen_crosswalk') }} as x
    inner join {{ ref('int_person_mentions') }} as p using (mention_id)

),

register as (

    select
        citizen_key,
        name,
        birth_date,
        gender,
        district_code,
        street_code,
        community_code
    from mentions
    where source_id = 'ps_household_registration'
    qualify row_number() over (
            partition by citizen_key order by event_date desc nulls last, _loaded_at desc, mention_id asc
        ) = 1

),

name_counts as (

    select
        citizen_key,
        name,
        name_is_pinyin,
        count(*) as mentions_with_name,
        max(event_date) as last_named_on
    from mentions
    where name is not null
    group by citizen_key, name, name_is_pinyin

),

frequent_name as (

    select
        citizen_key,
        name
    from name_counts
    qualify row_number() over (
            partition by citizen_key
            order by name_is_pinyin asc, mentions_with_name desc, last_named_on desc nulls last, name
        ) = 1

),

birth_counts as (

    select
        citizen_key,
        birth_date,
        count(*) as mentions_with_birth_date
    from mentions
    where birth_date is not null
    group by citizen_key, birth_date

),

frequent_birth as (

    select
        citizen_key,
        birth_date
    from birth_counts
    qualify row_number() over (
            partition by citizen_key order by mentions_with_birth_date desc, birth_date
        ) = 1

),

gender_counts as (

    select
        citizen_key,
        gender,
        count(*) as mentions_with_gender
    from mentions
    where gender is not null
    group by citizen_key, gender

),

frequent_gender as (

    select
        citizen_key,
        gender
    from gender_counts
    qualify row_number() over (partition by citizen_key order by mentions_with_gender desc, gender) = 1

),

latest_phone as (

    select
        citizen_key,
        phone
    from mentions
    where phone is not null
    qualify row_number() over (
            partition by citizen_key order by event_date desc nulls last, _loaded_at desc, mention_id asc
        ) = 1

),

latest_address as (

    select
        citizen_key,
        address
    from mentions
    where address is not null
    qualify row_number() over (
            partition by citizen_key order by event_date desc nulls last, _loaded_at desc, mention_id asc
        ) = 1

),

latest_place as (

    select
        citizen_key,
        district_code,
        street_code,
        community_code
    from mentions
    where district_code is not null
    qualify row_number() over (
            partition by citizen_key
            order by
                (community_code is not null) desc, event_date desc nulls last, _loaded_at desc, mention_id asc
        ) = 1

),

citizens as (

    select
        citizen_key,
        case when bool_or(match_rule = 'resident_id') then citizen_key end as resident_id,
        count(*) as mention_count,
        count(distinct source_id) as source_count,
        bool_or(source_id = 'ps_household_registration') as in_household_register,
        {{ sorted_distinct_csv('match_rule') }} as match_rules,
        min(event_date) as first_seen_on,
        max(event_date) as last_seen_on
    from mentions
    group by citizen_key

)

select
    c.citizen_key,
    c.resident_id,
    coalesce(r.name, n.name) as name,  -- noqa: RF04
    case when r.name is not null then 'household_register' else 'most_frequent' end as name_source,
    coalesce(r.birth_date, {{ birth_date_from_resident_id('c.resident_id') }}, b.birth_date) as birth_date,
    coalesce(r.gender, {{ gender_from_resident_id('c.resident_id') }}, g.gender) as gender,
    p.phone,
    a.address,
    coalesce(r.district_code, l.district_code) as district_code,
    case when r.district_code is not null then r.street_code else l.street_code end as street_code,
    case when r.district_code is not null then r.community_code else l.community_code end as community_code,
    c.in_household_register,
    c.resident_id is not null as has_valid_resident_id,
    c.mention_count,
    c.source_count,
    c.match_rules,
    c.first_seen_on,
    c.last_seen_on
from citizens as c
left join register as r using (citizen_key)
left join frequent_name as n using (citizen_key)
left join frequent_birth as b using (citizen_key)
left join frequent_gender as g using (citizen_key)
left join latest_phone as p using (citizen_key)
left join latest_address as a using (citizen_key)
left join latest_place as l using (citizen_key)
