{{ config(tags=['spark_output']) }}

with

warnings as (

    select * from {{ source('spark_jobs', 'rain_warnings') }}

)

select
    cast(station_id as varchar) as station_id,
    cast(district as varchar) as district,
    cast(level as varchar) as level,
    cast(action as varchar) as action,
    cast("at" as timestamp) as changed_at,
    cast(basis as varchar) as basis,
    cast(accumulation_mm as double) as accumulation_mm,
    cast(window_hours as integer) as window_hours
from warnings
