with

{{ latest_delivery('sensors', 'weather_station') }},

renamed as (

    select
        'weather_station' as source_id,
        record_key,
        station_id,
        district_code,
        ts as reading_at,
        temperature_c,
        humidity_pct,
        wind_speed_ms,
        wind_dir_deg,
        _batch_id,
        _loaded_at

    from latest_delivery

)

select * from renamed
