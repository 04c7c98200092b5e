with

{{ latest_delivery('hotline', 'work_orders') }},

renamed as (

    select
        'hotline_work_orders' as source_id,
        record_key,
        event_id,
        complaint_id,
        cast(seq as integer) as seq,
        event,
        level,
        {{ normalize_text('unit') }} as unit,
        event_at,
        category,
        _batch_id,
        _loaded_at

    from latest_delivery

)

select * from renamed
