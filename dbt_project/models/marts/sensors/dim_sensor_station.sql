{#- One row per sensor station of any feed, with its district. -#}

with

readings as (

    select * from {{ ref('fct_sensor_reading_hourly') }}

),

stations as (

    select
        station_id,
        min(sensor_type) as sensor_type,
        min(district_code) as district_code,
        min(hour_start) as first_hour,
        max(hour_start) as last_hour
    from readings
    group by station_id

)

select
    cast(station_id as {{ dbt.type_string() }}) as station_id,
    cast(sensor_type as {{ dbt.type_string() }}) as sensor_type,
    cast(district_code as {{ dbt.type_string() }}) as district_code,
    cast(first_hour as timestamp) as first_hour,
    cast(last_hour as timestamp) as last_hour
from stations
