{{ config(tags=['spark_output']) }}

with

plan as (

    select * from {{ source('spark_jobs', 'staffing_plan') }}

),

centers as (

    select * from {{ ref('dim_service_center') }}

),

named as (

    select
        plan.*,
        centers.center_name
    from plan
    left join centers on plan.center_id = centers.center_id

)

select
    cast(center_id as {{ dbt.type_string() }}) as center_id,
    cast(center_name as {{ dbt.type_string() }}) as center_name,
    cast(plan_hour as timestamp) as plan_hour,
    cast(cast(plan_hour as date) as date) as plan_date,
    cast(extract(hour from plan_hour) as integer) as hour_of_day,
    cast(day_kind as {{ dbt.type_string() }}) as day_kind,
    cast(expected_arrivals as double) as expected_arrivals,
    cast(categories as integer) as categories,
    cast(dedicated_counters as integer) as dedicated_counters,
    cast(dedicated_service_level as double) as dedicated_service_level,
    cast(dedicated_mean_wait_minutes as double) as dedicated_mean_wait_minutes,
    cast(dedicated_occupancy as double) as dedicated_occupancy,
    cast(pooled_counters_erlang as integer) as pooled_counters_erlang,
    cast(pooled_service_level_erlang as double) as pooled_service_level_erlang,
    cast(pooled_counters as integer) as pooled_counters,
    cast(pooled_service_level as double) as pooled_service_level,
    cast(pooled_prob_wait as double) as pooled_prob_wait,
    cast(pooled_mean_wait_minutes as double) as pooled_mean_wait_minutes,
    cast(pooled_occupancy as double) as pooled_occupancy,
    cast(erlang_agrees as boolean) as erlang_agrees,
    cast(counters_saved as integer) as counters_saved,
    cast(target_wait_minutes as double) as target_wait_minutes,
    cast(target_service_level as double) as target_service_level,
    cast(max_occupancy as double) as max_occupancy,
    cast(generated_for as date) as generated_for
from named
