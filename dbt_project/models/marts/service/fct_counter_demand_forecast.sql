{{ config(tags=['spark_output']) }}

with

forecast as (

    select * from {{ source('spark_jobs', 'counter_demand_forecast') }}

),

hourly as (

    select * from forecast
    where grain = 'hour'

)

select
    cast(center_id as {{ dbt.type_string() }}) as center_id,
    cast(service_category as {{ dbt.type_string() }}) as service_category,
    cast(forecast_hour as timestamp) as forecast_hour,
    cast(day_kind as {{ dbt.type_string() }}) as day_kind,
    cast(expected_arrivals as double) as expected_arrivals,
    cast(lo80 as double) as arrivals_lo80,
    cast(hi80 as double) as arrivals_hi80,
    cast(lo95 as double) as arrivals_lo95,
    cast(hi95 as double) as arrivals_hi95,
    cast(mean_handle_minutes as double) as mean_handle_minutes,
    cast(counters_needed as integer) as counters_needed,
    cast(model as {{ dbt.type_string() }}) as method,  -- noqa: RF04
    cast(generated_for as date) as generated_for
from hourly
