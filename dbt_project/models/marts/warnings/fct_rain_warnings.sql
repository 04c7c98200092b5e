{{ config(tags=['spark_output']) }}

with

warnings as (

    select * from {{ source('spark_jobs', 'rain_warnings') }}

)

select
    cast(station_id as {{ dbt.type_string() }}) as station_id,
    cast(district as {{ dbt.type_string() }}) as district,
    cast(level as {{ dbt.type_string() }}) as level,  -- noqa: RF04
    cast(action as {{ dbt.type_string() }}) as action,  -- noqa: RF04
    cast("at" as timestamp) as changed_at,  -- noqa: RF06
    cast(basis as {{ dbt.type_string() }}) as basis,
    cast(accumulation_mm as double) as accumulation_mm,
    cast(window_hours as integer) as window_hours
from warnings
