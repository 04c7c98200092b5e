{#- One row per licence or permit an enterprise holds, across the departments that issue
    them: market supervision's licences plus the entertainment, pollutant discharge,
    construction and water abstraction permits. Person-held licences (taxi drivers) are
    not here. Holders are firms: name and credit code are public business identifiers. -#}

with

msa_licences as (

    select * from {{ ref('stg_market_supervision__licences') }}

),

entertainment_permits as (

    select * from {{ ref('stg_culture_tourism__entertainment_permits') }}

),

discharge_permits as (

    select * from {{ ref('stg_ecology_environment__discharge_permits') }}

),

building_permits as (

    select * from {{ ref('stg_housing_construction__building_permits') }}

),

abstraction_permits as (

    select * from {{ ref('stg_water_resources__abstraction_permits') }}

),

geography as (

    select * from {{ ref('dim_geography') }}

),

enterprise_crosswalk as (

    select * from {{ ref('int_enterprise_crosswalk') }}

),

unioned as (

    select
        source_id,
        record_key,
        'subject' as holder_role,
        licence_no,
        licence_type,
        'market_supervision' as issuing_department,
        enterprise_name as holder_name,
        uscc as holder_uscc,
        uscc_is_valid as holder_uscc_is_valid,
        cast(null as {{ dbt.type_string() }}) as district_code,
        address_district_name as district_name,
        issued_on,
        valid_until,
        status as source_status
    from msa_licences

    union all

    select
        source_id,
        record_key,
        'subject' as holder_role,
        permit_no as licence_no,
        '娱乐经营许可证' as licence_type,
        'culture_tourism' as issuing_department,
        enterprise_name as holder_name,
        uscc as holder_uscc,
        uscc_is_valid as holder_uscc_is_valid,
        cast(null as {{ dbt.type_string() }}) as district_code,
        coalesce(district_name, address_district_name) as district_name,
        issued_on,
        valid_until,
        cast(null as {{ dbt.type_string() }}) as source_status
    from entertainment_permits

    union all

    select
        source_id,
        record_key,
        'subject' as holder_role,
        permit_no as licence_no,
        '排污许可证' as licence_type,
        'ecology_environment' as issuing_department,
        enterprise_name as holder_name,
        uscc as holder_uscc,
        uscc_is_valid as holder_uscc_is_valid,
        cast(null as {{ dbt.type_string() }}) as district_code,
        coalesce(district_name, address_district_name) as district_name,
        issued_on,
        valid_until,
        status as source_status
    from discharge_permits

    union all

    select
        source_id,
        record_key,
        'developer' as holder_role,
        permit_no as licence_no,
        '建筑工程施工许可证' as licence_type,
        'housing_construction' as issuing_department,
        developer_enterprise_name as holder_name,
        developer_uscc as holder_uscc,
        developer_uscc_is_valid as holder_uscc_is_valid,
        cast(null as {{ dbt.type_string() }}) as district_code,
        district_name,
        issued_on,
        cast(null as date) as valid_until,
        cast(null as {{ dbt.type_string() }}) as source_status
    from building_permits

    union all

    select
        source_id,
        record_key,
        'subject' as holder_role,
        permit_no as licence_no,
        '取水许可证' as licence_type,
        'water_resources' as issuing_department,
        enterprise_name as holder_name,
        uscc as holder_uscc,
        uscc_is_valid as holder_uscc_is_valid,
        district_code,
        cast(null as {{ dbt.type_string() }}) as district_name,
        issued_on,
        valid_until,
        status as source_status
    from abstraction_permits

),

districts as (

    select
        geography_code,
        geography_name
    from geography
    where geography_level = 'district' and is_reference

),

located as (

    select
        unioned.*,
        enterprise_crosswalk.enterprise_key,
        coalesce(unioned.district_code, districts.geography_code) as located_district_code,
        -- One status vocabulary: 有效/延续 valid, 注销 cancelled, 过期 expired.
        case
            when unioned.source_status in ('有效', '延续') then 'valid'
            when unioned.source_status = '注销' then 'cancelled'
            when unioned.source_status = '过期' then 'expired'
            when unioned.source_status is null then 'not_reported'
            else 'other'
        end as status
    from unioned
    left join districts on unioned.district_name = districts.geography_name
    -- The entity-resolution crosswalk names the unified enterprise holding the licence.
    left join enterprise_crosswalk
        on enterprise_crosswalk.mention_id = {{ dbt.concat([
            'unioned.source_id', "':'", 'unioned.record_key', "':'", 'unioned.holder_role']) }}

)

select
    cast({{ dbt.concat(['source_id', "':'", 'record_key']) }} as {{ dbt.type_string() }}) as licence_key,
    cast(source_id as {{ dbt.type_string() }}) as source_id,
    cast(licence_no as {{ dbt.type_string() }}) as licence_no,
    cast(licence_type as {{ dbt.type_string() }}) as licence_type,
    cast(issuing_department as {{ dbt.type_string() }}) as issuing_department,
    cast(holder_name as {{ dbt.type_string() }}) as holder_name,
    cast(holder_uscc as {{ dbt.type_string() }}) as holder_uscc,
    cast(holder_uscc_is_valid as boolean) as holder_uscc_is_valid,
    cast(enterprise_key as {{ dbt.type_string() }}) as enterprise_key,
    cast(located_district_code as {{ dbt.type_string() }}) as district_code,
    cast(issued_on as date) as issued_on,
    cast(valid_until as date) as valid_until,
    cast(status as {{ dbt.type_string() }}) as status
from located
