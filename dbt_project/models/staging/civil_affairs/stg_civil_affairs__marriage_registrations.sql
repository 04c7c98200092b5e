with

{{ latest_delivery('civil_affairs', 'marriage_registration') }},

renamed as (

    select
        'ca_marriage_registration' as source_id,
        record_key,
        {{ normalize_text('certificate_no') }} as certificate_no,
        {{ normalize_text('registration_type') }} as registration_type,
        {{ parse_mixed_date('registered_on') }} as registered_on,
        {{ normalize_text('registry_office') }} as registry_office,
        {{ normalize_person_name('male_name') }} as male_name,
        {{ normalize_resident_id('male_resident_id') }} as male_resident_id,
        {{ parse_mixed_date('male_birth_date') }} as male_birth_date,
        {{ normalize_phone('male_phone') }} as male_phone,
        {{ normalize_person_name('female_name') }} as female_name,
        {{ normalize_resident_id('female_resident_id') }} as female_resident_id,
        {{ parse_mixed_date('female_birth_date') }} as female_birth_date,
        {{ normalize_phone('female_phone') }} as female_phone,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ name_is_pinyin('male_name') }} as male_name_is_pinyin,
        {{ resident_id_is_valid('male_resident_id') }} as male_resident_id_is_valid,
        {{ name_is_pinyin('female_name') }} as female_name_is_pinyin,
        {{ resident_id_is_valid('female_resident_id') }} as female_resident_id_is_valid

    from renamed

),

derived as (

    select
        validated.*,
        case
            when validated.male_resident_id_is_valid
                then {{ gender_from_resident_id('validated.male_resident_id') }}
        end as male_gender,
        case
            when validated.female_resident_id_is_valid
                then {{ gender_from_resident_id('validated.female_resident_id') }}
        end as female_gender

    from validated

)

select * from derived
