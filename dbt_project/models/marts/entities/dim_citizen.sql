{{ config(tags=['entities']) }}

{#- The shared citizen dimension: one row per unified citizen, no direct identifier.
    citizen_sk is a keyed pseudonym of the citizen's key (its resident ID when it has
    one), so departments join on it without seeing the ID; name and phone are masked,
    the birth date is reduced to the year. The identified record is
    restricted.restricted_citizen_identity. -#}

select
    {{ pseudonym('citizen_key') }} as citizen_sk,
    {{ mask_name('name') }} as name_masked,
    {{ mask_phone("regexp_replace(phone, '^[+]86-?', '')") }} as phone_masked,
    cast(year(birth_date) as integer) as birth_year,
    gender,
    district_code,
    street_code,
    community_code,
    in_household_register,
    has_valid_resident_id,
    cast(mention_count as integer) as mention_count,
    cast(source_count as integer) as source_count,
    match_rules,
    first_seen_on,
    last_seen_on
from {{ ref('int_citizen_golden') }}
