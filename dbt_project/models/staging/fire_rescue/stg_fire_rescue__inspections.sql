with

{{ latest_delivery('fire_rescue', 'inspections') }},

renamed as (

    select
        'fire_inspections' as source_id,
        record_key,
        {{ normalize_text('inspection_id') }} as inspection_id,
        {{ normalize_text('unit_name') }} as enterprise_name,
        {{ normalize_uscc('uscc') }} as uscc,
        {{ normalize_registration_no('registration_no') }} as registration_no,
        {{ normalize_text('unit_address') }} as address,
        {{ normalize_text('district_code') }} as district_code,
        {{ normalize_text('street_code') }} as street_code,
        {{ normalize_text('inspection_type') }} as inspection_type,
        {{ parse_mixed_date('inspected_on') }} as inspected_on,
        {{ normalize_text('result') }} as result,
        hazards_found,
        {{ normalize_text('inspector') }} as inspector,
        {{ normalize_person_name('contact_name') }} as contact_name,
        {{ normalize_phone('contact_phone') }} as contact_phone,
        updated_at,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ uscc_is_valid('uscc') }} as uscc_is_valid,
        {{ address_part('address', 'district') }} as address_district_name,
        {{ address_part('address', 'street') }} as address_street_name,
        {{ address_part('address', 'community') }} as address_community_name,
        {{ name_is_pinyin('contact_name') }} as contact_name_is_pinyin

    from renamed

)

select * from validated
