{{ config(tags=['spark_output']) }}

with

forecast as (

    select * from {{ source('spark_jobs', 'counter_demand_forecast') }}

),

daily as (

    select * from forecast
    where grain = 'day'

)

select
    cast(center_id as {{ dbt.type_string() }}) as center_id,
    cast(forecast_hour as date) as forecast_date,
    cast(day_kind as {{ dbt.type_string() }}) as day_kind,
    cast(expected_arrivals as double) as expected_arrivals,
    cast(lo80 as double) as arrivals_lo80,
    cast(hi80 as double) as arrivals_hi80,
    cast(lo95 as double) as arrivals_lo95,
    cast(hi95 as double) as arrivals_hi95,
    cast(model as {{ dbt.type_string() }}) as method,  -- noqa: RF04
    cast(generated_for as date) as generated_for
from daily
