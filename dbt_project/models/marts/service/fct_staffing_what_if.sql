{{ config(tags=['spark_output']) }}

with

what_if as (

    select * from {{ source('spark_jobs', 'staffing_what_if') }}

),

centers as (

    select * from {{ ref('dim_service_center') }}

),

named as (

    select
        what_if.*,
        centers.center_name
    from what_if
    left join centers on what_if.center_id = centers.center_id

)

select
    cast(center_id as {{ dbt.type_string() }}) as center_id,
    cast(center_name as {{ dbt.type_string() }}) as center_name,
    cast(plan_hour as timestamp) as plan_hour,
    cast(cast(plan_hour as date) as date) as plan_date,
    cast(extract(hour from plan_hour) as integer) as hour_of_day,
    cast(target_service_level as double) as target_service_level,
    cast(
        cast(cast(round(target_service_level * 100) as integer) as {{ dbt.type_string() }}) || ' %'
        as {{ dbt.type_string() }}
    ) as target_label,
    cast(expected_arrivals as double) as expected_arrivals,
    cast(dedicated_counters as integer) as dedicated_counters,
    cast(pooled_counters as integer) as pooled_counters,
    cast(pooled_mean_wait_minutes as double) as pooled_mean_wait_minutes,
    cast(generated_for as date) as generated_for
from named
