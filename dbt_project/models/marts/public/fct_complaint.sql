{#- One row per hotline complaint with where it happened; the caller only as a pseudonym
    of the phone (repeat callers stay countable, nobody is identifiable). -#}

with

complaints as (

    select * from {{ ref('stg_hotline__complaints') }}

),

keyed as (

    select
        complaints.*,
        case
            when complaints.caller_phone is not null
                then {{ pseudonym('complaints.caller_phone') }}
        end as caller_key,
        {{ dbt.date_trunc('day', 'complaints.received_at') }} as received_day

    from complaints

)

select
    cast(complaint_id as {{ dbt.type_string() }}) as complaint_id,
    cast(received_at as timestamp) as received_at,
    cast(received_day as date) as received_date,
    cast(category as {{ dbt.type_string() }}) as category,
    cast(district_code as {{ dbt.type_string() }}) as district_code,
    cast(district_name as {{ dbt.type_string() }}) as district_name,
    cast(street_code as {{ dbt.type_string() }}) as street_code,
    cast(street_name as {{ dbt.type_string() }}) as street_name,
    cast(community_code as {{ dbt.type_string() }}) as community_code,
    cast(urgency as {{ dbt.type_string() }}) as urgency,
    cast(caller_key as {{ dbt.type_string() }}) as caller_key
from keyed
