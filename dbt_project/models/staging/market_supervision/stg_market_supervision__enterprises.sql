with

{{ latest_delivery('market_supervision', 'enterprise_registration') }},

renamed as (

    select
        'msa_enterprise_registration' as source_id,
        record_key,
        {{ normalize_text('enterprise_no') }} as enterprise_no,
        {{ normalize_uscc('uscc') }} as uscc,
        {{ normalize_registration_no('registration_no') }} as registration_no,
        {{ normalize_text('enterprise_name') }} as enterprise_name,
        {{ normalize_text('entity_type') }} as entity_type,
        {{ normalize_person_name('legal_rep_name') }} as legal_rep_name,
        {{ normalize_resident_id('legal_rep_resident_id') }} as legal_rep_resident_id,
        {{ normalize_text('industry_code') }} as industry_code,
        {{ normalize_text('industry') }} as industry,
        registered_capital,
        established_on,
        {{ normalize_text('district_code') }} as district_code,
        {{ normalize_text('district') }} as district_name,
        {{ normalize_text('street_code') }} as street_code,
        {{ normalize_text('street') }} as street_name,
        {{ normalize_text('community_code') }} as community_code,
        {{ normalize_text('community') }} as community_name,
        {{ normalize_text('address') }} as address,
        {{ normalize_phone('phone') }} as phone,
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
        {{ resident_id_is_valid('legal_rep_resident_id') }} as legal_rep_resident_id_is_valid,
        {{ address_part('address', 'district') }} as address_district_name,
        {{ address_part('address', 'street') }} as address_street_name,
        {{ address_part('address', 'community') }} as address_community_name

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
