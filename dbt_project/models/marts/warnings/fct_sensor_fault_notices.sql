{#- Sensor faults for the data bureau: a station's quality-control events of one kind,
    each run of them (no gap over two hours) one notice. A station whose readings were
    excluded never drove a hazard warning with them; this is where it is reported. -#}
{{ config(tags=['spark_output']) }}

with

events as (

    select * from {{ ref('fct_sensor_quality_events') }}

),

faults as (

    select * from events
    where is_excluded or reason = 'dropout'

),

gaps as (

    select
        *,
        case
            when
                lag(reading_at) over (partition by station_id, reason order by reading_at)
                >= {{ dbt.dateadd('hour', -2, 'reading_at') }}
                then 0
            else 1
        end as starts_run
    from faults

),

runs as (

    select
        *,
        sum(starts_run) over (
            partition by station_id, reason
            order by reading_at
            rows between unbounded preceding and current row
        ) as run_number
    from gaps

),

notices as (

    select
        station_id,
        reason,
        run_number,
        min(hazard) as hazard,
        min(district_code) as district_code,
        min(reading_at) as fault_from,
        max(reading_at) as fault_to,
        count(*) as readings,
        max(detail) as detail
    from runs
    group by station_id, reason, run_number

)

select
    cast(station_id || ':' || reason || ':' || cast(fault_from as {{ dbt.type_string() }})
        as {{ dbt.type_string() }}) as notice_id,
    cast(station_id as {{ dbt.type_string() }}) as station_id,
    cast(hazard as {{ dbt.type_string() }}) as hazard,
    cast(district_code as {{ dbt.type_string() }}) as district_code,
    cast(reason as {{ dbt.type_string() }}) as fault_kind,
    cast(fault_from as timestamp) as fault_from,
    cast(fault_to as timestamp) as fault_to,
    cast(readings as bigint) as readings,
    cast(detail as {{ dbt.type_string() }}) as detail
from notices
