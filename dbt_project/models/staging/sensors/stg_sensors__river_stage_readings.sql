with

{{ latest_delivery('sensors', 'river_stage') }},

renamed as (

    select
        'river_stage' as source_id,
        record_key,
        station_id,
        district_code,
        ts as reading_at,
        stage_m,
        warning_level_m,
        guaranteed_level_m,
        _batch_id,
        _loaded_at

    from latest_delivery

)

select * from renamed
