with

{{ latest_delivery('public_security', 'household_registration') }},

renamed as (

    select
        'ps_household_registration' as source_id,
        record_key,
        {{ normalize_text('person_no') }} as person_no,
        {{ normalize_text('household_id') }} as household_id,
        {{ normalize_text('relation_to_head') }} as relation_to_head,
        {{ normalize_resident_id('resident_id') }} as resident_id,
        {{ normalize_person_name('name') }} as name,  -- noqa: RF04
        {{ normalize_gender('gender') }} as gender,
        {{ normalize_text('ethnicity') }} as ethnicity,
        birth_date,
        {{ normalize_text('district_code') }} as district_code,
        {{ normalize_text('district') }} as district_name,
        {{ normalize_text('street_code') }} as street_code,
        {{ normalize_text('street') }} as street_name,
        {{ normalize_text('community_code') }} as community_code,
        {{ normalize_text('community') }} as community_name,
        {{ normalize_text('address') }} as address,
        {{ normalize_phone('phone') }} as phone,
        registered_on,
        {{ normalize_text('status') }} as status,
        updated_at,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ resident_id_is_valid('resident_id') }} as resident_id_is_valid,
        {{ name_is_pinyin('name') }} as name_is_pinyin,
        {{ address_part('address', 'district') }} as address_district_name,
        {{ address_part('address', 'street') }} as address_street_name,
        {{ address_part('address', 'community') }} as address_community_name

    from renamed

)

select * from validated
