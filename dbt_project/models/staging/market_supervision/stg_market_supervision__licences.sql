with

{{ latest_delivery('market_supervision', 'licences') }},

renamed as (

    select
        'msa_licences' as source_id,
        record_key,
        {{ normalize_text('licence_no') }} as licence_no,
        {{ normalize_text('licence_type') }} as licence_type,
        {{ normalize_text('holder_name') }} as enterprise_name,
        {{ normalize_uscc('uscc') }} as uscc,
        {{ normalize_person_name('legal_rep_name') }} as legal_rep_name,
        {{ normalize_text('business_address') }} as address,
        {{ normalize_text('business_scope') }} as business_scope,
        {{ parse_mixed_date('issued_on') }} as issued_on,
        {{ parse_mixed_date('valid_until') }} as valid_until,
        {{ normalize_text('issuing_authority') }} as issuing_authority,
        {{ normalize_text('status') }} as status,
        updated_at,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ uscc_is_valid('uscc') }} as uscc_is_valid,
        {{ name_is_pinyin('legal_rep_name') }} as legal_rep_name_is_pinyin,
        {{ address_part('address', 'district') }} as address_district_name,
        {{ address_part('address', 'street') }} as address_street_name,
        {{ address_part('address', 'community') }} as address_community_name

    from renamed

)

select * from validated
