{{ config(tags=['entities']) }}

{#- The shared enterprise dimension: one row per unified enterprise. Credit codes,
    legacy registration numbers, names and addresses are public business identifiers;
    the legal representative appears only as the citizen_sk pseudonym (joins
    dim_citizen), the phone masked. The identified record is
    restricted.restricted_enterprise_identity. -#}

select
    enterprise_key,
    uscc,
    registration_no,
    enterprise_name,
    name_source,
    address,
    district_code,
    {{ mask_phone("regexp_replace(phone, '^[+]86-?', '')") }} as phone_masked,
    case when legal_rep_citizen_key is not null
            then {{ pseudonym('legal_rep_citizen_key') }}
    end as legal_rep_citizen_sk,
    in_market_register,
    cast(mention_count as integer) as mention_count,
    cast(source_count as integer) as source_count,
    match_rules
from {{ ref('int_enterprise_golden') }}
