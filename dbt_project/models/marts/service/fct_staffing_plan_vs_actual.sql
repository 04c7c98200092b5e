{{ config(tags=['spark_output']) }}

with

replayed as (

    select * from {{ source('spark_jobs', 'staffing_plan_replay') }}

),

actual as (

    select * from {{ ref('fct_center_hourly_service') }}

),

compared as (

    select
        replayed.center_id,
        replayed.plan_hour,
        replayed.day_kind,
        replayed.generated_for as forecast_origin,
        replayed.expected_arrivals,
        coalesce(actual.visitors, 0) as actual_visitors,
        coalesce(actual.counters_open, 0) as counters_open,
        replayed.dedicated_counters,
        replayed.pooled_counters,
        replayed.pooled_service_level,
        replayed.target_service_level,
        actual.share_called_within_10_minutes as actual_service_level,
        actual.mean_wait_minutes as actual_mean_wait_minutes

    from replayed
    left join actual
        on
            replayed.center_id = actual.center_id
            and replayed.plan_hour = actual.service_hour

)

select
    cast(center_id as {{ dbt.type_string() }}) as center_id,
    cast(plan_hour as timestamp) as plan_hour,
    cast(day_kind as {{ dbt.type_string() }}) as day_kind,
    cast(forecast_origin as date) as forecast_origin,
    cast(expected_arrivals as double) as expected_arrivals,
    cast(actual_visitors as bigint) as actual_visitors,
    cast(counters_open as bigint) as counters_open,
    cast(dedicated_counters as integer) as dedicated_counters,
    cast(pooled_counters as integer) as pooled_counters,
    cast(pooled_service_level as double) as planned_service_level,
    cast(actual_service_level as double) as actual_service_level,
    cast(actual_mean_wait_minutes as double) as actual_mean_wait_minutes,
    cast(
        coalesce(actual_service_level < target_service_level, false)
        and pooled_counters > counters_open as boolean
    ) as plan_would_cut_waiting,
    cast(greatest(counters_open - pooled_counters, 0) as integer) as counters_idle
from compared
