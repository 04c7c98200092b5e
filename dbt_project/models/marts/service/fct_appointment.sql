{#- One row per appointment booked at a center: booking lead time and whether it was kept. -#}

with

appointments as (

    select * from {{ ref('stg_service_center__appointments') }}

),

crosswalk as (

    select * from {{ ref('int_citizen_crosswalk') }}

),

keyed as (

    select
        appointments.*,
        {{ pseudonym('crosswalk.citizen_key') }} as citizen_sk,
        {{ dbt.datediff('booked_at', 'slot_at', 'hour') }} / 24.0 as lead_days  -- noqa: LT05

    from appointments
    -- The entity-resolution crosswalk names the unified citizen of each person mention.
    left join crosswalk
        on crosswalk.mention_id = {{ dbt.concat([
            'appointments.source_id', "':'", 'appointments.record_key', "':'",
            "'subject'"]) }}

)

select
    cast(appointment_id as {{ dbt.type_string() }}) as appointment_id,
    cast(center_id as {{ dbt.type_string() }}) as center_id,
    cast(service_category as {{ dbt.type_string() }}) as service_category,
    cast(matter_name as {{ dbt.type_string() }}) as matter_name,
    cast(citizen_sk as {{ dbt.type_string() }}) as citizen_sk,
    cast(resident_id_is_valid as boolean) as resident_id_is_valid,
    cast(booking_channel as {{ dbt.type_string() }}) as booking_channel,
    cast(booked_at as timestamp) as booked_at,
    cast(slot_date as date) as slot_date,
    cast(slot_at as timestamp) as slot_at,
    cast(lead_days as double) as lead_days,
    cast(status as {{ dbt.type_string() }}) as status
from keyed
