with

{{ latest_delivery('sensors', 'air_quality') }},

renamed as (

    select
        'air_quality' as source_id,
        record_key,
        station_id,
        district_code,
        ts as reading_at,
        pm25_ug_m3,
        pm10_ug_m3,
        o3_ug_m3,
        aqi,
        primary_pollutant,
        _batch_id,
        _loaded_at

    from latest_delivery

)

select * from renamed
