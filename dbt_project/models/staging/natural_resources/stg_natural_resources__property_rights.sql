with

{{ latest_delivery('natural_resources', 'property_registration') }},

renamed as (

    select
        'nr_property_registration' as source_id,
        record_key,
        {{ normalize_text('certificate_no') }} as certificate_no,
        {{ normalize_text('unit_no') }} as unit_no,
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
        {{ normalize_person_name('co_owner_name') }} as co_owner_name,
        {{ normalize_resident_id('co_owner_resident_id') }} as co_owner_resident_id,
        {{ normalize_text('location') }} as location,  -- noqa: RF04
        {{ normalize_text('district_code') }} as district_code,
        {{ normalize_text('street_code') }} as street_code,
        {{ normalize_text('community_code') }} as community_code,
        {{ normalize_text('usage') }} as usage,  -- noqa: RF04
        area_sqm,
        {{ normalize_text('right_type') }} as right_type,
        registered_on,
        mortgaged,
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
        {{ name_is_pinyin('co_owner_name') }} as co_owner_name_is_pinyin,
        {{ resident_id_is_valid('co_owner_resident_id') }} as co_owner_resident_id_is_valid,
        {{ address_part('location', 'district') }} as location_district_name,
        {{ address_part('location', 'street') }} as location_street_name,
        {{ address_part('location', 'community') }} as location_community_name

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
        end as owner_gender,
        case
            when validated.co_owner_resident_id_is_valid
                then {{ birth_date_from_resident_id('validated.co_owner_resident_id') }}
        end as co_owner_birth_date,
        case
            when validated.co_owner_resident_id_is_valid
                then {{ gender_from_resident_id('validated.co_owner_resident_id') }}
        end as co_owner_gender

    from validated

)

select * from derived
