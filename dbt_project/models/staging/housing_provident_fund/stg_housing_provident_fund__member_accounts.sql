with

{{ latest_delivery('housing_provident_fund', 'accounts') }},

renamed as (

    select
        'hpf_accounts' as source_id,
        record_key,
        {{ normalize_text('account_no') }} as account_no,
        {{ normalize_person_name('name') }} as name,  -- noqa: RF04
        {{ normalize_resident_id('id_number') }} as resident_id,
        {{ normalize_uscc('employer_uscc') }} as employer_uscc,
        {{ normalize_text('employer_name') }} as employer_enterprise_name,
        deposit_base,
        monthly_deposit,
        balance,
        {{ parse_mixed_date('opened_on') }} as opened_on,
        {{ normalize_text('status') }} as status,
        {{ normalize_phone('mobile') }} as phone,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ name_is_pinyin('name') }} as name_is_pinyin,
        {{ resident_id_is_valid('resident_id') }} as resident_id_is_valid,
        {{ uscc_is_valid('employer_uscc') }} as employer_uscc_is_valid

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
