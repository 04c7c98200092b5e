with

{{ latest_delivery('civil_affairs', 'social_assistance') }},

renamed as (

    select
        'ca_social_assistance' as source_id,
        record_key,
        {{ normalize_text('case_no') }} as case_no,
        {{ normalize_text('assistance_type') }} as assistance_type,
        {{ normalize_person_name('applicant_name') }} as name,  -- noqa: RF04
        {{ normalize_resident_id('resident_id') }} as resident_id,
        household_size,
        monthly_amount,
        {{ normalize_text('district') }} as district_name,
        {{ normalize_text('street') }} as street_name,
        {{ normalize_text('community') }} as community_name,
        {{ normalize_text('address') }} as address,
        {{ normalize_phone('phone') }} as phone,
        {{ parse_mixed_date('approved_on') }} as approved_on,
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
        {{ address_part('address', 'district') }} as address_district_name,
        {{ address_part('address', 'street') }} as address_street_name,
        {{ address_part('address', 'community') }} as address_community_name

    from renamed

),

derived as (

    select
        validated.*,
        case
            when validated.resident_id_is_valid
                then {{ birth_date_from_resident_id('validated.resident_id') }}
        end as birth_date,
        case
            when validated.resident_id_is_valid
                then {{ gender_from_resident_id('validated.resident_id') }}
        end as gender

    from validated

)

select * from derived
