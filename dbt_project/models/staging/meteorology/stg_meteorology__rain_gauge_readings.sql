with

source as (

    select * from {{ source('meteorology', 'rain_gauge') }}

),

latest_delivery as (

    select *
    from source
    qualify row_number() over (partition by station_id, ts order by _loaded_at desc, _row_number desc) = 1

),

renamed as (

    select
        station_id,
        district_code,
        ts as reading_at,
        rain_mm,
        _batch_id as batch_id,
        _loaded_at as loaded_at

    from latest_delivery

)

select * from renamed
