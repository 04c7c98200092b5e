{{ config(schema='restricted', tags=['entities']) }}

{#- Identified facts about each enterprise that are not shared: its legal
    representative's resident ID and name, and its phone. -#}

select
    enterprise_key,
    case when legal_rep_citizen_key is not null
            then {{ pseudonym('legal_rep_citizen_key') }}
    end as legal_rep_citizen_sk,
    legal_rep_resident_id,
    legal_rep_name,
    phone
from {{ ref('int_enterprise_golden') }}
