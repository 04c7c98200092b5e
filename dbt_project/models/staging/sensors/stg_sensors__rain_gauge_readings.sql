with

source as (

    select * from {{ source('sensors', 'rain_gauge') }}

),

ranked as (

    -- A re-sent message counts once: the latest delivery per station and time.
    select
        source.*,
        row_number() over (
            partition by source.station_id, source.ts
            order by source._loaded_at desc, source._row_number desc
        ) as delivery_rank

    from source

),

latest_delivery as (

    select * from ranked
    where delivery_rank = 1

),

renamed as (

    select
        'rain_gauge' as source_id,
        {{ dbt.concat(['station_id', "'|'", 'cast(ts as ' ~ dbt.type_string() ~ ')']) }} as record_key,
        station_id,
        district_code,
        ts as reading_at,
        rain_mm,
        _batch_id,
        _loaded_at

    from latest_delivery

)

select * from renamed
