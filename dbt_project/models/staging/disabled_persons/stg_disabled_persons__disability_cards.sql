with

{{ latest_delivery('disabled_persons', 'disability_cards') }},

renamed as (

    select
        'dpf_disability_cards' as source_id,
        record_key,
        {{ normalize_text('card_no') }} as card_no,
        {{ normalize_person_name('name') }} as name,  -- noqa: RF04
        {{ normalize_gender('gender') }} as gender,
        {{ normalize_resident_id('resident_id') }} as resident_id,
        {{ parse_mixed_date('birth_date') }} as birth_date,
        {{ normalize_text('disability_category') }} as disability_category,
        {{ normalize_text('disability_level') }} as disability_level,
        {{ parse_mixed_date('issued_on') }} as issued_on,
        {{ parse_mixed_date('valid_until') }} as valid_until,
        {{ normalize_person_name('guardian_name') }} as guardian_name,
        {{ normalize_phone('contact_phone') }} as contact_phone,
        {{ normalize_text('address') }} as address,
        {{ normalize_text('community_code') }} as community_code,
        {{ normalize_text('status') }} as status,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ name_is_pinyin('name') }} as name_is_pinyin,
        {{ resident_id_is_valid('resident_id') }} as resident_id_is_valid,
        {{ name_is_pinyin('guardian_name') }} as guardian_name_is_pinyin,
        {{ address_part('address', 'district') }} as address_district_name,
        {{ address_part('address', 'street') }} as address_street_name,
        {{ address_part('address', 'community') }} as address_community_name

    from renamed

)

select * from validated
