with

{{ latest_delivery('sensors', 'traffic_counter') }},

renamed as (

    select
        'traffic_counter' as source_id,
        record_key,
        station_id,
        district_code,
        ts as reading_at,
        vehicles_inbound,
        vehicles_outbound,
        _batch_id,
        _loaded_at

    from latest_delivery

)

select * from renamed
