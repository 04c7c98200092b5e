with

{{ latest_delivery('sensors', 'rain_gauge') }},

renamed as (

    select
        'rain_gauge' as source_id,
        record_key,
        station_id,
        district_code,
        ts as reading_at,
        rain_mm,
        _batch_id,
        _loaded_at

    from latest_delivery

)

select * from renamed
