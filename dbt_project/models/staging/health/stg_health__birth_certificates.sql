with

{{ latest_delivery('health', 'births') }},

renamed as (

    select
        'health_births' as source_id,
        record_key,
        {{ normalize_text('certificate_no') }} as certificate_no,
        {{ normalize_person_name('child_name') }} as name,  -- noqa: RF04
        {{ normalize_gender('child_gender') }} as gender,
        birth_date,
        {{ normalize_text('birth_time') }} as birth_time,
        birth_weight_g,
        gestation_weeks,
        {{ normalize_text('hospital') }} as hospital,
        {{ normalize_person_name('mother_name') }} as mother_name,
        {{ normalize_resident_id('mother_resident_id') }} as mother_resident_id,
        {{ normalize_person_name('father_name') }} as father_name,
        {{ normalize_resident_id('father_resident_id') }} as father_resident_id,
        issued_on,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ name_is_pinyin('name') }} as name_is_pinyin,
        {{ name_is_pinyin('mother_name') }} as mother_name_is_pinyin,
        {{ resident_id_is_valid('mother_resident_id') }} as mother_resident_id_is_valid,
        {{ name_is_pinyin('father_name') }} as father_name_is_pinyin,
        {{ resident_id_is_valid('father_resident_id') }} as father_resident_id_is_valid

    from renamed

),

derived as (

    select
        validated.*,
        case
            when validated.mother_resident_id_is_valid
                then {{ birth_date_from_resident_id('validated.mother_resident_id') }}
        end as mother_birth_date,
        case
            when validated.mother_resident_id_is_valid
                then {{ gender_from_resident_id('validated.mother_resident_id') }}
        end as mother_gender,
        case
            when validated.father_resident_id_is_valid
                then {{ birth_date_from_resident_id('validated.father_resident_id') }}
        end as father_birth_date,
        case
            when validated.father_resident_id_is_valid
                then {{ gender_from_resident_id('validated.father_resident_id') }}
        end as father_gender

    from validated

)

select * from derived
