{#- Every sensor feed on one hourly grid: one row per station and hour, the hour being
    (hour_start, hour_start + 1h]: readings are stamped at the end of their interval, so a
    reading at 11:00 belongs to the hour starting 10:00. Each feed fills its own columns
    (sums for counts and rain, means for levels, extremes where a warning looks at them). -#}

{%- set hour_start = dbt.date_trunc('hour', dbt.dateadd('second', -1, 'reading_at')) -%}

with

rain as (

    select * from {{ ref('stg_sensors__rain_gauge_readings') }}

),

weather as (

    select * from {{ ref('stg_sensors__weather_observations') }}

),

air as (

    select * from {{ ref('stg_sensors__air_quality_readings') }}

),

river as (

    select * from {{ ref('stg_sensors__river_stage_readings') }}

),

manhole as (

    select * from {{ ref('stg_sensors__manhole_tilt_readings') }}

),

traffic as (

    select * from {{ ref('stg_sensors__traffic_counts') }}

),

rain_hourly as (

    select
        station_id,
        {{ hour_start }} as hour_start,
        'rain_gauge' as sensor_type,
        min(district_code) as district_code,
        count(*) as readings,
        sum(rain_mm) as rain_mm
    from rain
    group by station_id, {{ hour_start }}

),

weather_hourly as (

    select
        station_id,
        {{ hour_start }} as hour_start,
        'weather_station' as sensor_type,
        min(district_code) as district_code,
        count(*) as readings,
        avg(temperature_c) as temperature_c,
        avg(humidity_pct) as humidity_pct,
        avg(wind_speed_ms) as wind_speed_ms,
        max(wind_speed_ms) as max_wind_speed_ms
    from weather
    group by station_id, {{ hour_start }}

),

air_hourly as (

    select
        station_id,
        {{ hour_start }} as hour_start,
        'air_quality' as sensor_type,
        min(district_code) as district_code,
        count(*) as readings,
        avg(pm25_ug_m3) as pm25_ug_m3,
        avg(pm10_ug_m3) as pm10_ug_m3,
        avg(o3_ug_m3) as o3_ug_m3,
        max(aqi) as max_aqi
    from air
    group by station_id, {{ hour_start }}

),

river_hourly as (

    select
        station_id,
        {{ hour_start }} as hour_start,
        'river_stage' as sensor_type,
        min(district_code) as district_code,
        count(*) as readings,
        max(stage_m) as max_stage_m,
        max(warning_level_m) as warning_level_m,
        max(guaranteed_level_m) as guaranteed_level_m
    from river
    group by station_id, {{ hour_start }}

),

manhole_hourly as (

    select
        station_id,
        {{ hour_start }} as hour_start,
        'manhole_tilt' as sensor_type,
        min(district_code) as district_code,
        count(*) as readings,
        max(tilt_deg) as max_tilt_deg,
        max(case when water_level_alarm then 1 else 0 end) = 1 as water_level_alarm,
        min(battery_pct) as min_battery_pct
    from manhole
    group by station_id, {{ hour_start }}

),

traffic_hourly as (

    select
        station_id,
        {{ hour_start }} as hour_start,
        'traffic_counter' as sensor_type,
        min(district_code) as district_code,
        count(*) as readings,
        sum(vehicles_inbound) as vehicles_inbound,
        sum(vehicles_outbound) as vehicles_outbound
    from traffic
    group by station_id, {{ hour_start }}

),

-- Every station-hour with a reading; each feed's measures join onto it.
station_hours as (

    {% for feed in ['rain', 'weather', 'air', 'river', 'manhole', 'traffic'] -%}
        {% if not loop.first %}
            union all

        {% endif -%}
        select
            station_id,
            hour_start,
            sensor_type,
            district_code,
            readings
        from {{ feed }}_hourly
    {% endfor %}

),

joined as (

    select
        station_hours.*,
        rain_hourly.rain_mm,
        weather_hourly.temperature_c,
        weather_hourly.humidity_pct,
        weather_hourly.wind_speed_ms,
        weather_hourly.max_wind_speed_ms,
        air_hourly.pm25_ug_m3,
        air_hourly.pm10_ug_m3,
        air_hourly.o3_ug_m3,
        air_hourly.max_aqi,
        river_hourly.max_stage_m,
        river_hourly.warning_level_m,
        river_hourly.guaranteed_level_m,
        manhole_hourly.max_tilt_deg,
        manhole_hourly.water_level_alarm,
        manhole_hourly.min_battery_pct,
        traffic_hourly.vehicles_inbound,
        traffic_hourly.vehicles_outbound
    from station_hours
    {% for feed in ['rain', 'weather', 'air', 'river', 'manhole', 'traffic'] -%}
        left join {{ feed }}_hourly
            on
                station_hours.station_id = {{ feed }}_hourly.station_id
                and station_hours.hour_start = {{ feed }}_hourly.hour_start
    {% endfor %}

)

select
    cast({{ dbt.concat([
        'station_id', "'|'", 'cast(hour_start as ' ~ dbt.type_string() ~ ')']) }} as {{ dbt.type_string() }})
        as reading_key,
    cast(station_id as {{ dbt.type_string() }}) as station_id,
    cast(sensor_type as {{ dbt.type_string() }}) as sensor_type,
    cast(district_code as {{ dbt.type_string() }}) as district_code,
    cast(hour_start as timestamp) as hour_start,
    cast(readings as bigint) as readings,
    cast(rain_mm as double) as rain_mm,
    cast(temperature_c as double) as temperature_c,
    cast(humidity_pct as double) as humidity_pct,
    cast(wind_speed_ms as double) as wind_speed_ms,
    cast(max_wind_speed_ms as double) as max_wind_speed_ms,
    cast(pm25_ug_m3 as double) as pm25_ug_m3,
    cast(pm10_ug_m3 as double) as pm10_ug_m3,
    cast(o3_ug_m3 as double) as o3_ug_m3,
    cast(max_aqi as double) as max_aqi,
    cast(max_stage_m as double) as max_stage_m,
    cast(warning_level_m as double) as warning_level_m,
    cast(guaranteed_level_m as double) as guaranteed_level_m,
    cast(max_tilt_deg as double) as max_tilt_deg,
    cast(water_level_alarm as boolean) as water_level_alarm,
    cast(min_battery_pct as double) as min_battery_pct,
    cast(vehicles_inbound as double) as vehicles_inbound,
    cast(vehicles_outbound as double) as vehicles_outbound,
    cast(max_stage_m > warning_level_m as boolean) as above_warning_level,
    cast(max_stage_m > guaranteed_level_m as boolean) as above_guaranteed_level
from joined
