{#- Per centre and day, for the planners' "forecast vs actual" chart: the days of the latest
    backtest window (forecast made at its start, beside the visits that came) and the
    coming days' forecast, each with its 80 % and 95 % intervals. -#}
{{ config(tags=['spark_output']) }}

with

backtest as (

    select * from {{ ref('fct_counter_demand_backtest') }}

),

forecast as (

    select * from {{ ref('fct_center_daily_demand_forecast') }}

),

centers as (

    select * from {{ ref('dim_service_center') }}

),

latest_origin as (

    select max(origin_date) as origin_date
    from backtest
    where grain = 'day' and is_chosen

),

replayed as (

    select
        backtest.center_id,
        cast(backtest.period_start as date) as visit_date,
        'backtest' as period_kind,
        backtest.actual_arrivals,
        backtest.expected_arrivals,
        backtest.arrivals_lo80,
        backtest.arrivals_hi80,
        backtest.arrivals_lo95,
        backtest.arrivals_hi95
    from backtest
    inner join latest_origin on backtest.origin_date = latest_origin.origin_date
    where backtest.grain = 'day' and backtest.is_chosen

),

coming as (

    select
        center_id,
        forecast_date as visit_date,
        'forecast' as period_kind,
        cast(null as double) as actual_arrivals,
        expected_arrivals,
        arrivals_lo80,
        arrivals_hi80,
        arrivals_lo95,
        arrivals_hi95
    from forecast

),

both_periods as (

    select * from replayed
    union all
    select * from coming

),

named as (

    select
        both_periods.*,
        centers.center_name
    from both_periods
    left join centers on both_periods.center_id = centers.center_id

)

select
    cast(center_id as {{ dbt.type_string() }}) as center_id,
    cast(center_name as {{ dbt.type_string() }}) as center_name,
    cast(visit_date as timestamp) as visit_date,
    cast(period_kind as {{ dbt.type_string() }}) as period_kind,
    cast(actual_arrivals as double) as actual_arrivals,
    cast(expected_arrivals as double) as expected_arrivals,
    cast(arrivals_lo80 as double) as arrivals_lo80,
    cast(arrivals_hi80 as double) as arrivals_hi80,
    cast(arrivals_lo95 as double) as arrivals_lo95,
    cast(arrivals_hi95 as double) as arrivals_hi95
from named
