with

{{ latest_delivery('sensors', 'manhole_tilt') }},

renamed as (

    select
        'manhole_tilt' as source_id,
        record_key,
        station_id,
        district_code,
        ts as reading_at,
        tilt_deg,
        water_level_alarm,
        battery_pct,
        _batch_id,
        _loaded_at

    from latest_delivery

)

select * from renamed
