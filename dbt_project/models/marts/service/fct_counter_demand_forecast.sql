{{ config(tags=['spark_output']) }}

with

forecast as (

    select * from {{ source('spark_jobs', 'counter_demand_forecast') }}

)

select
    cast(center_id as {{ dbt.type_string() }}) as center_id,
    cast(service_category as {{ dbt.type_string() }}) as service_category,
    cast(forecast_hour as timestamp) as forecast_hour,
    cast(expected_arrivals as double) as expected_arrivals,
    cast(mean_handle_minutes as double) as mean_handle_minutes,
    cast(counters_needed as integer) as counters_needed,
    cast(method as {{ dbt.type_string() }}) as method  -- noqa: RF04
from forecast
