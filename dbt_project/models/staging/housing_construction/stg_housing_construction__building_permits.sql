with

{{ latest_delivery('housing_construction', 'building_permits') }},

renamed as (

    select
        'hc_building_permits' as source_id,
        record_key,
        {{ normalize_text('permit_no') }} as permit_no,
        {{ normalize_text('project_name') }} as project_name,
        {{ normalize_text('developer_name') }} as developer_enterprise_name,
        {{ normalize_uscc('developer_uscc') }} as developer_uscc,
        {{ normalize_text('contractor_name') }} as contractor_enterprise_name,
        {{ normalize_uscc('contractor_uscc') }} as contractor_uscc,
        {{ normalize_person_name('project_manager') }} as project_manager_name,
        {{ normalize_resident_id('project_manager_resident_id') }} as project_manager_resident_id,
        {{ normalize_phone('project_manager_phone') }} as project_manager_phone,
        {{ normalize_text('location') }} as location,  -- noqa: RF04
        {{ normalize_text('district') }} as district_name,
        building_area_sqm,
        contract_price_10k,
        {{ parse_mixed_date('issued_on') }} as issued_on,
        {{ parse_mixed_date('planned_start') }} as planned_start,
        {{ parse_mixed_date('planned_end') }} as planned_end,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ uscc_is_valid('developer_uscc') }} as developer_uscc_is_valid,
        {{ uscc_is_valid('contractor_uscc') }} as contractor_uscc_is_valid,
        {{ name_is_pinyin('project_manager_name') }} as project_manager_name_is_pinyin,
        {{ resident_id_is_valid('project_manager_resident_id') }} as project_manager_resident_id_is_valid,
        {{ address_part('location', 'district') }} as location_district_name,
        {{ address_part('location', 'street') }} as location_street_name,
        {{ address_part('location', 'community') }} as location_community_name

    from renamed

),

derived as (

    select
        validated.*,
        case
            when validated.project_manager_resident_id_is_valid
                then {{ birth_date_from_resident_id('validated.project_manager_resident_id') }}
        end as project_manager_birth_date,
        case
            when validated.project_manager_resident_id_is_valid
                then {{ gender_from_resident_id('validated.project_manager_resident_id') }}
        end as project_manager_gender

    from validated

)

select * from derived
