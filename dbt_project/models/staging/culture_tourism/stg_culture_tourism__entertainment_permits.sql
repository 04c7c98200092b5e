with

{{ latest_delivery('culture_tourism', 'entertainment_permits') }},

renamed as (

    select
        'ct_entertainment_permits' as source_id,
        record_key,
        {{ normalize_text('permit_no') }} as permit_no,
        {{ normalize_text('venue_name') }} as venue_name,
        {{ normalize_text('venue_type') }} as venue_type,
        {{ normalize_text('operator_name') }} as enterprise_name,
        {{ normalize_uscc('uscc') }} as uscc,
        {{ normalize_registration_no('registration_no') }} as registration_no,
        {{ normalize_person_name('legal_rep_name') }} as legal_rep_name,
        {{ normalize_resident_id('legal_rep_resident_id') }} as legal_rep_resident_id,
        {{ normalize_text('address') }} as address,
        {{ normalize_text('district') }} as district_name,
        floor_area_sqm,
        {{ parse_mixed_date('issued_on') }} as issued_on,
        {{ parse_mixed_date('valid_until') }} as valid_until,
        {{ normalize_phone('phone') }} as phone,
        {{ parse_mixed_date('inspected_on') }} as inspected_on,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ uscc_is_valid('uscc') }} as uscc_is_valid,
        {{ name_is_pinyin('legal_rep_name') }} as legal_rep_name_is_pinyin,
        {{ resident_id_is_valid('legal_rep_resident_id') }} as legal_rep_resident_id_is_valid,
        {{ address_part('address', 'district') }} as address_district_name,
        {{ address_part('address', 'street') }} as address_street_name,
        {{ address_part('address', 'community') }} as address_community_name

    from renamed

),

derived as (

    select
        validated.*,
        case
            when validated.legal_rep_resident_id_is_valid
                then {{ birth_date_from_resident_id('validated.legal_rep_resident_id') }}
        end as legal_rep_birth_date,
        case
            when validated.legal_rep_resident_id_is_valid
                then {{ gender_from_resident_id('validated.legal_rep_resident_id') }}
        end as legal_rep_gender

    from validated

)

select * from derived
