with

{{ latest_delivery('taxation', 'registration') }},

renamed as (

    select
        'tax_registration' as source_id,
        record_key,
        {{ normalize_text('taxpayer_id') }} as taxpayer_id,
        {{ normalize_uscc('uscc') }} as uscc,
        {{ normalize_registration_no('registration_no') }} as registration_no,
        {{ normalize_text('taxpayer_name') }} as enterprise_name,
        {{ normalize_text('taxpayer_type') }} as taxpayer_type,
        {{ normalize_person_name('legal_rep_name') }} as legal_rep_name,
        {{ normalize_resident_id('legal_rep_resident_id') }} as legal_rep_resident_id,
        {{ normalize_text('tax_authority') }} as tax_authority,
        {{ parse_mixed_date('registered_on') }} as registered_on,
        {{ normalize_text('industry') }} as industry,
        {{ normalize_text('status') }} as status,
        {{ normalize_phone('phone') }} as phone,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ uscc_is_valid('uscc') }} as uscc_is_valid,
        {{ name_is_pinyin('legal_rep_name') }} as legal_rep_name_is_pinyin,
        {{ resident_id_is_valid('legal_rep_resident_id') }} as legal_rep_resident_id_is_valid

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
