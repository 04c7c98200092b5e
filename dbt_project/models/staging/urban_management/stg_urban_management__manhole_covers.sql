with

{{ latest_delivery('urban_management', 'manhole_covers') }},

renamed as (

    select
        'um_manhole_covers' as source_id,
        record_key,
        {{ normalize_text('cover_id') }} as cover_id,
        {{ normalize_text('asset_type') }} as asset_type,
        {{ normalize_text('owner_unit') }} as owner_enterprise_name,
        {{ normalize_uscc('owner_uscc') }} as owner_uscc,
        {{ normalize_text('district_code') }} as district_code,
        {{ normalize_text('street_code') }} as street_code,
        {{ normalize_text('community_code') }} as community_code,
        {{ normalize_text('road') }} as road,
        longitude,
        latitude,
        {{ normalize_text('material') }} as material,
        diameter_mm,
        installed_on,
        last_inspected_on,
        {{ normalize_text('condition') }} as condition,
        {{ normalize_text('tilt_sensor_id') }} as tilt_sensor_id,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ uscc_is_valid('owner_uscc') }} as owner_uscc_is_valid

    from renamed

)

select * from validated
