{{ config(tags=['spark_output']) }}

with

forecast as (

    select * from {{ source('spark_jobs', 'counter_demand_forecast') }}

)

select
    cast(center_id as varchar) as center_id,
    cast(service_category as varchar) as service_category,
    cast(forecast_hour as timestamp) as forecast_hour,
    cast(expected_arrivals as double) as expected_arrivals,
    cast(mean_handle_minutes as double) as mean_handle_minutes,
    cast(counters_needed as integer) as counters_needed,
    cast(method as varchar) as method
from forecast
