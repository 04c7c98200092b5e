with

source as (

    select * from {{ source('hotline', 'complaints') }}

),

latest_delivery as (

    select *
    from source
    qualify row_number() over (partition by complaint_id order by _loaded_at desc, _row_number desc) = 1

),

renamed as (

    select
        complaint_id,
        received_at,
        category,
        district_code,
        district as district_name,
        street_code,
        street as street_name,
        community_code,
        community as community_name,
        urgency,
        caller_phone,
        summary,
        _batch_id as batch_id,
        _loaded_at as loaded_at

    from latest_delivery

)

select * from renamed
