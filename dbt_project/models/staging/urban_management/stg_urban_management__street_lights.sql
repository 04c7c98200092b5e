with

{{ latest_delivery('urban_management', 'street_lights') }},

renamed as (

    select
        'um_street_lights' as source_id,
        record_key,
        {{ normalize_text('light_id') }} as light_id,
        {{ normalize_text('road') }} as road,
        {{ normalize_text('district_code') }} as district_code,
        {{ normalize_text('street_code') }} as street_code,
        {{ normalize_text('lamp_type') }} as lamp_type,
        power_w,
        pole_height_m,
        {{ normalize_text('maintainer_name') }} as maintainer_enterprise_name,
        {{ normalize_uscc('maintainer_uscc') }} as maintainer_uscc,
        {{ parse_mixed_date('installed_on') }} as installed_on,
        {{ normalize_text('status') }} as status,
        {{ parse_mixed_date('fault_reported_on') }} as fault_reported_on,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ uscc_is_valid('maintainer_uscc') }} as maintainer_uscc_is_valid

    from renamed

)

select * from validated
