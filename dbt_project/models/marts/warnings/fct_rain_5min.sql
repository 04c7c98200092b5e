with

readings as (

    select * from {{ ref('stg_sensors__rain_gauge_readings') }}

)

select
    cast(station_id as {{ dbt.type_string() }}) as station_id,
    cast(district_code as {{ dbt.type_string() }}) as district,
    cast(reading_at as timestamp) as ts,
    cast(rain_mm as double) as rain_mm
from readings
