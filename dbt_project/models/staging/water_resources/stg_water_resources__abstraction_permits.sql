with

{{ latest_delivery('water_resources', 'abstraction_permits') }},

renamed as (

    select
        'water_abstraction_permits' as source_id,
        record_key,
        {{ normalize_text('permit_no') }} as permit_no,
        {{ normalize_text('holder_name') }} as enterprise_name,
        {{ normalize_uscc('uscc') }} as uscc,
        {{ normalize_registration_no('registration_no') }} as registration_no,
        {{ normalize_text('source_type') }} as source_type,
        {{ normalize_text('intake_location') }} as intake_location,
        {{ normalize_text('district_code') }} as district_code,
        annual_quota_m3,
        {{ normalize_text('use_type') }} as use_type,
        {{ parse_mixed_date('issued_on') }} as issued_on,
        {{ parse_mixed_date('valid_until') }} as valid_until,
        {{ normalize_text('status') }} as status,
        {{ normalize_phone('contact_phone') }} as contact_phone,
        updated_at,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ uscc_is_valid('uscc') }} as uscc_is_valid

    from renamed

)

select * from validated
