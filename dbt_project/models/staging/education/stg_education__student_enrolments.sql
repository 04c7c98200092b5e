with

{{ latest_delivery('education', 'enrolment') }},

renamed as (

    select
        'edu_enrolment' as source_id,
        record_key,
        {{ normalize_text('student_no') }} as student_no,
        {{ normalize_person_name('name') }} as name,  -- noqa: RF04
        {{ normalize_gender('gender') }} as gender,
        {{ parse_mixed_date('birth_date') }} as birth_date,
        {{ normalize_resident_id('resident_id') }} as resident_id,
        {{ normalize_text('school') }} as school,
        {{ normalize_text('school_level') }} as school_level,
        {{ normalize_text('grade') }} as grade,
        {{ parse_mixed_date('enrolled_on') }} as enrolled_on,
        {{ normalize_person_name('guardian_name') }} as guardian_name,
        {{ normalize_phone('guardian_phone') }} as guardian_phone,
        {{ normalize_resident_id('guardian_resident_id') }} as guardian_resident_id,
        {{ normalize_text('address') }} as address,
        {{ normalize_text('change_type') }} as change_type,
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
        {{ resident_id_is_valid('guardian_resident_id') }} as guardian_resident_id_is_valid,
        {{ address_part('address', 'district') }} as address_district_name,
        {{ address_part('address', 'street') }} as address_street_name,
        {{ address_part('address', 'community') }} as address_community_name

    from renamed

),

derived as (

    select
        validated.*,
        case
            when validated.guardian_resident_id_is_valid
                then {{ birth_date_from_resident_id('validated.guardian_resident_id') }}
        end as guardian_birth_date,
        case
            when validated.guardian_resident_id_is_valid
                then {{ gender_from_resident_id('validated.guardian_resident_id') }}
        end as guardian_gender

    from validated

)

select * from derived
