{#- Each rain gauge's trailing 3, 6 and 12-hour accumulations at every hour, beside the
    rainstorm signals' thresholds (50 mm within 12 / 6 / 3 h, 100 mm within 3 h): the
    emergency managers' rain panel. Windows count the gauge's hourly rows (a dropout hour
    shortens them; the warning job itself sums 5-minute readings). -#}
with

hourly as (

    select * from {{ ref('fct_sensor_reading_hourly') }}
    where sensor_type = 'rain_gauge'

),

districts as (

    select distinct
        district_code,
        district_name
    from {{ ref('dim_geography') }}

),

rolled as (

    select
        station_id,
        district_code,
        hour_start,
        rain_mm,
        sum(rain_mm) over (
            partition by station_id order by hour_start
            rows between 2 preceding and current row
        ) as rain_3h_mm,
        sum(rain_mm) over (
            partition by station_id order by hour_start
            rows between 5 preceding and current row
        ) as rain_6h_mm,
        sum(rain_mm) over (
            partition by station_id order by hour_start
            rows between 11 preceding and current row
        ) as rain_12h_mm
    from hourly

),

named as (

    select
        rolled.*,
        districts.district_name
    from rolled
    left join districts on rolled.district_code = districts.district_code

)

select
    cast(station_id as {{ dbt.type_string() }}) as station_id,
    cast(district_code as {{ dbt.type_string() }}) as district_code,
    cast(district_name as {{ dbt.type_string() }}) as district_name,
    cast(hour_start as timestamp) as hour_start,
    cast(rain_mm as double) as rain_1h_mm,
    cast(rain_3h_mm as double) as rain_3h_mm,
    cast(rain_6h_mm as double) as rain_6h_mm,
    cast(rain_12h_mm as double) as rain_12h_mm
from named
