with

{{ latest_delivery('hrss', 'employment') }},

renamed as (

    select
        'hrss_employment' as source_id,
        record_key,
        {{ normalize_text('record_no') }} as record_no,
        {{ normalize_text('event_type') }} as event_type,
        {{ parse_mixed_date('event_date') }} as event_date,
        {{ normalize_resident_id('resident_id') }} as resident_id,
        {{ normalize_person_name('name') }} as name,  -- noqa: RF04
        {{ normalize_gender('gender') }} as gender,
        {{ normalize_phone('phone') }} as phone,
        -- The export renamed work_unit to employer_name mid-period (catalog renamed_from).
        {{ normalize_text(coalesce_renamed(source('hrss', 'employment'), 'employer_name', ['work_unit'])) }}
            as employer_enterprise_name,
        {{ normalize_text('position') }} as position,  -- noqa: RF04
        {{ normalize_text('education') }} as education,
        {{ normalize_uscc('employer_uscc') }} as employer_uscc,
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

),

derived as (

    select
        validated.*,
        case
            when validated.resident_id_is_valid
                then {{ birth_date_from_resident_id('validated.resident_id') }}
        end as birth_date

    from validated

)

select * from derived
