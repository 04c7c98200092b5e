with

{{ latest_delivery('emergency_management', 'incidents') }},

renamed as (

    select
        'em_incidents' as source_id,
        record_key,
        {{ normalize_text('incident_id') }} as incident_id,
        {{ normalize_text('incident_type') }} as incident_type,
        {{ normalize_text('level') }} as level,  -- noqa: RF04
        occurred_at,
        reported_at,
        {{ normalize_text('district_code') }} as district_code,
        {{ normalize_text('street_code') }} as street_code,
        {{ normalize_text('community_code') }} as community_code,
        {{ normalize_text('location') }} as location,  -- noqa: RF04
        casualties,
        {{ normalize_person_name('reporter_name') }} as reporter_name,
        {{ normalize_phone('reporter_phone') }} as reporter_phone,
        {{ normalize_resident_id('reporter_resident_id') }} as reporter_resident_id,
        {{ normalize_text('responsible_unit') }} as responsible_enterprise_name,
        {{ normalize_uscc('responsible_uscc') }} as responsible_uscc,
        {{ normalize_text('status') }} as status,
        updated_at,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ address_part('location', 'district') }} as location_district_name,
        {{ address_part('location', 'street') }} as location_street_name,
        {{ address_part('location', 'community') }} as location_community_name,
        {{ name_is_pinyin('reporter_name') }} as reporter_name_is_pinyin,
        {{ resident_id_is_valid('reporter_resident_id') }} as reporter_resident_id_is_valid,
        {{ uscc_is_valid('responsible_uscc') }} as responsible_uscc_is_valid

    from renamed

),

derived as (

    select
        validated.*,
        case
            when validated.reporter_resident_id_is_valid
                then {{ birth_date_from_resident_id('validated.reporter_resident_id') }}
        end as reporter_birth_date,
        case
            when validated.reporter_resident_id_is_valid
                then {{ gender_from_resident_id('validated.reporter_resident_id') }}
        end as reporter_gender

    from validated

)

select * from derived
