with

{{ latest_delivery('hotline', 'complaints') }},

renamed as (

    select
        'hotline_complaints' as source_id,
        record_key,
        complaint_id,
        received_at,
        category,
        {{ normalize_text('district_code') }} as district_code,
        {{ normalize_text('district') }} as district_name,
        {{ normalize_text('street_code') }} as street_code,
        {{ normalize_text('street') }} as street_name,
        {{ normalize_text('community_code') }} as community_code,
        {{ normalize_text('community') }} as community_name,
        urgency,
        {{ normalize_phone('caller_phone') }} as caller_phone,
        {{ normalize_text('summary') }} as summary,  -- noqa: RF04
        _batch_id,
        _loaded_at

    from latest_delivery

)

select * from renamed
