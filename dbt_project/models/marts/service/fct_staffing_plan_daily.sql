{{ config(tags=['spark_output']) }}

with

plan as (

    select * from {{ ref('fct_staffing_plan') }}

),

daily as (

    select
        center_id,
        cast(plan_hour as date) as plan_date,
        min(day_kind) as day_kind,
        sum(expected_arrivals) as expected_arrivals,
        sum(case when expected_arrivals > 0 then 1 else 0 end) as open_hours,
        max(dedicated_counters) as dedicated_peak_counters,
        max(pooled_counters) as pooled_peak_counters,
        sum(dedicated_counters) as dedicated_counter_hours,
        sum(pooled_counters) as pooled_counter_hours,
        sum(case when erlang_agrees then 0 else 1 end) as hours_erlang_disagrees

    from plan
    group by center_id, cast(plan_hour as date)

)

select
    cast(center_id as {{ dbt.type_string() }}) as center_id,
    cast(plan_date as date) as plan_date,
    cast(day_kind as {{ dbt.type_string() }}) as day_kind,
    cast(expected_arrivals as double) as expected_arrivals,
    cast(open_hours as integer) as open_hours,
    cast(dedicated_peak_counters as integer) as dedicated_peak_counters,
    cast(pooled_peak_counters as integer) as pooled_peak_counters,
    cast(dedicated_peak_counters - pooled_peak_counters as integer) as peak_counters_saved,
    cast(dedicated_counter_hours as integer) as dedicated_counter_hours,
    cast(pooled_counter_hours as integer) as pooled_counter_hours,
    cast(dedicated_counter_hours - pooled_counter_hours as integer) as counter_hours_saved,
    cast(hours_erlang_disagrees as integer) as hours_erlang_disagrees
from daily
