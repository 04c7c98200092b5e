{{ config(tags=['spark_output']) }}

with

backtest as (

    select * from {{ source('spark_jobs', 'counter_demand_backtest') }}

)

select
    cast(center_id as {{ dbt.type_string() }}) as center_id,
    cast(service_category as {{ dbt.type_string() }}) as service_category,
    cast(grain as {{ dbt.type_string() }}) as grain,
    cast(origin as date) as origin_date,
    cast(ds as timestamp) as period_start,
    cast(day_kind as {{ dbt.type_string() }}) as day_kind,
    cast(model as {{ dbt.type_string() }}) as model,
    cast(chosen as boolean) as is_chosen,
    cast(actual as double) as actual_arrivals,
    cast(forecast as double) as expected_arrivals,
    cast(lo80 as double) as arrivals_lo80,
    cast(hi80 as double) as arrivals_hi80,
    cast(lo95 as double) as arrivals_lo95,
    cast(hi95 as double) as arrivals_hi95,
    cast(mase_scale as double) as mase_scale
from backtest
