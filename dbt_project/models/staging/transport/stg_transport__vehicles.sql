with

{{ latest_delivery('transport', 'vehicle_registration') }},

renamed as (

    select
        'tr_vehicle_registration' as source_id,
        record_key,
        {{ normalize_text('plate_no') }} as plate_no,
        {{ normalize_text('vin') }} as vin,
        {{ normalize_text('owner_type') }} as owner_type,
        -- The owner is a person or a firm (owner_type): one name column for each.
        case
            when trim(owner_type) = '个人' then {{ normalize_person_name('owner_name') }}
        end as owner_name,
        case
            when trim(owner_type) = '单位' then {{ normalize_text('owner_name') }}
        end as owner_enterprise_name,
        {{ normalize_resident_id('owner_resident_id') }} as owner_resident_id,
        {{ normalize_uscc('owner_uscc') }} as owner_uscc,
        {{ normalize_phone('owner_phone') }} as owner_phone,
        {{ normalize_text('owner_address') }} as owner_address,
        {{ normalize_text('vehicle_type') }} as vehicle_type,
        {{ normalize_text('brand_model') }} as brand_model,
        {{ normalize_text('fuel_type') }} as fuel_type,
        {{ parse_mixed_date('registered_on') }} as registered_on,
        {{ parse_mixed_date('inspection_due') }} as inspection_due,
        {{ normalize_text('status') }} as status,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ name_is_pinyin('owner_name') }} as owner_name_is_pinyin,
        {{ resident_id_is_valid('owner_resident_id') }} as owner_resident_id_is_valid,
        {{ uscc_is_valid('owner_uscc') }} as owner_uscc_is_valid,
        {{ address_part('owner_address', 'district') }} as owner_address_district_name,
        {{ address_part('owner_address', 'street') }} as owner_address_street_name,
        {{ address_part('owner_address', 'community') }} as owner_address_community_name

    from renamed

),

derived as (

    select
        validated.*,
        case
            when validated.owner_resident_id_is_valid
                then {{ birth_date_from_resident_id('validated.owner_resident_id') }}
        end as owner_birth_date,
        case
            when validated.owner_resident_id_is_valid
                then {{ gender_from_resident_id('validated.owner_resident_id') }}
        end as owner_gender

    from validated

)

select * from derived
