with

{{ latest_delivery('hrss', 'social_insurance') }},

renamed as (

    select
        'hrss_social_insurance' as source_id,
        record_key,
        {{ normalize_text('change_no') }} as change_no,
        {{ normalize_text('change_type') }} as change_type,
        change_date,
        {{ normalize_text('insured_no') }} as insured_no,
        {{ normalize_resident_id('resident_id') }} as resident_id,
        {{ normalize_person_name('name') }} as name,  -- noqa: RF04
        {{ normalize_gender('gender') }} as gender,
        birth_date,
        {{ normalize_uscc('employer_uscc') }} as employer_uscc,
        {{ normalize_text('employer_name') }} as employer_enterprise_name,
        {{ normalize_text('insurance_types') }} as insurance_types,
        contribution_base,
        {{ normalize_phone('phone') }} as phone,
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
