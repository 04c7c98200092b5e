{{ config(schema='restricted', tags=['entities']) }}

{#- The identified golden record of each citizen (raw resident ID, name, phone,
    address), keyed by the same citizen_sk as dim_citizen. Not shared: only the data
    bureau's identity service reads it. Survivorship in int_citizen_golden. -#}

select
    {{ pseudonym('citizen_key') }} as citizen_sk,
    resident_id,
    name,
    name_source,
    birth_date,
    gender,
    phone,
    address,
    district_code,
    street_code,
    community_code
from {{ ref('int_citizen_golden') }}
