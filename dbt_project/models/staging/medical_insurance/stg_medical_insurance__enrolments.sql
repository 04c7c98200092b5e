with

{{ latest_delivery('medical_insurance', 'enrolment') }},

renamed as (

    select
        'mi_enrolment' as source_id,
        record_key,
        {{ normalize_text('enrolment_id') }} as enrolment_id,
        {{ normalize_resident_id('resident_id') }} as resident_id,
        {{ normalize_person_name('name') }} as name,  -- noqa: RF04
        {{ normalize_gender('gender') }} as gender,
        {{ parse_mixed_date('birth_date') }} as birth_date,
        {{ normalize_text('insurance_scheme') }} as insurance_scheme,
        {{ normalize_uscc('employer_uscc') }} as employer_uscc,
        {{ normalize_text('employer_name') }} as employer_enterprise_name,
        {{ parse_mixed_date('enrolled_on') }} as enrolled_on,
        {{ normalize_text('status') }} as status,
        {{ normalize_phone('phone') }} as phone,
        {{ normalize_text('community') }} as community_name,
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
        {{ uscc_is_valid('employer_uscc') }} as employer_uscc_is_valid

    from renamed

)

select * from validated
