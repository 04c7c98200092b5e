{#- One row per queue ticket: wait (issued -> called) and handling (start -> end) minutes. -#}

with

tickets as (

    select * from {{ ref('stg_service_center__queue_tickets') }}

),

crosswalk as (

    select * from {{ ref('int_citizen_crosswalk') }}

),

keyed as (

    select
        tickets.*,
        {{ pseudonym('crosswalk.citizen_key') }} as citizen_sk,
        {{ dbt.date_trunc('hour', 'issued_at') }} as issued_hour

    from tickets
    -- The entity-resolution crosswalk names the unified citizen of each person mention.
    left join crosswalk
        on crosswalk.mention_id = {{ dbt.concat([
            'tickets.source_id', "':'", 'tickets.record_key', "':'",
            "'subject'"]) }}

)

select
    cast(ticket_id as {{ dbt.type_string() }}) as ticket_id,
    cast(center_id as {{ dbt.type_string() }}) as center_id,
    cast(service_category as {{ dbt.type_string() }}) as service_category,
    cast(citizen_sk as {{ dbt.type_string() }}) as citizen_sk,
    cast(resident_id_is_valid as boolean) as resident_id_is_valid,
    cast(issued_at as timestamp) as issued_at,
    cast(issued_hour as timestamp) as issued_hour,
    cast(called_at as timestamp) as called_at,
    cast(service_start as timestamp) as service_start,
    cast(service_end as timestamp) as service_end,
    cast(counter_no as integer) as counter_no,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(wait_minutes as double) as wait_minutes,
    cast(handle_minutes as double) as handle_minutes
from keyed
