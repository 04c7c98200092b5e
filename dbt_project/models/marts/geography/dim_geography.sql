{#- One row per administrative unit (district, street, community). The division code list
    (seed ref_geography) is the reference; codes the departments' records carry that the
    list lacks are kept too (is_reference = false), so no fact points at nothing. -#}

with

reference as (

    select * from {{ ref('ref_geography') }}

),

household_members as (

    select * from {{ ref('stg_public_security__household_members') }}

),

enterprises as (

    select * from {{ ref('stg_market_supervision__enterprises') }}

),

complaints as (

    select * from {{ ref('stg_hotline__complaints') }}

),

-- Locations as the household register, the enterprise registry and the hotline record them.
observed as (

    select
        district_code,
        district_name,
        street_code,
        street_name,
        community_code,
        community_name
    from household_members

    union all

    select
        district_code,
        district_name,
        street_code,
        street_name,
        community_code,
        community_name
    from enterprises

    union all

    select
        district_code,
        district_name,
        street_code,
        street_name,
        community_code,
        community_name
    from complaints

),

reference_units as (

    select distinct
        'district' as geography_level,
        district_code as geography_code,
        district_name as geography_name,
        cast(null as {{ dbt.type_string() }}) as parent_code,
        district_code,
        district_name,
        cast(null as {{ dbt.type_string() }}) as street_code,
        cast(null as {{ dbt.type_string() }}) as street_name
    from reference

    union all

    select distinct
        'street' as geography_level,
        street_code as geography_code,
        street_name as geography_name,
        district_code as parent_code,
        district_code,
        district_name,
        street_code,
        street_name
    from reference

    union all

    select
        'community' as geography_level,
        community_code as geography_code,
        community_name as geography_name,
        street_code as parent_code,
        district_code,
        district_name,
        street_code,
        street_name
    from reference

),

observed_units as (

    select
        'district' as geography_level,
        district_code as geography_code,
        min(district_name) as geography_name,
        cast(null as {{ dbt.type_string() }}) as parent_code,
        district_code,
        min(district_name) as district_name,
        cast(null as {{ dbt.type_string() }}) as street_code,
        cast(null as {{ dbt.type_string() }}) as street_name
    from observed
    where district_code is not null
    group by district_code

    union all

    select
        'street' as geography_level,
        street_code as geography_code,
        min(street_name) as geography_name,
        min(district_code) as parent_code,
        min(district_code) as district_code,
        min(district_name) as district_name,
        street_code,
        min(street_name) as street_name
    from observed
    where street_code is not null
    group by street_code

    union all

    select
        'community' as geography_level,
        community_code as geography_code,
        min(community_name) as geography_name,
        min(street_code) as parent_code,
        min(district_code) as district_code,
        min(district_name) as district_name,
        min(street_code) as street_code,
        min(street_name) as street_name
    from observed
    where community_code is not null
    group by community_code

),

unreferenced_units as (

    select observed_units.*
    from observed_units
    left join reference_units
        on observed_units.geography_code = reference_units.geography_code
    where reference_units.geography_code is null

),

units as (

    select
        reference_units.*,
        true as is_reference
    from reference_units

    union all

    select
        unreferenced_units.*,
        false as is_reference
    from unreferenced_units

)

select
    cast(geography_code as {{ dbt.type_string() }}) as geography_code,
    cast(geography_level as {{ dbt.type_string() }}) as geography_level,
    cast(geography_name as {{ dbt.type_string() }}) as geography_name,
    cast(parent_code as {{ dbt.type_string() }}) as parent_code,
    cast(district_code as {{ dbt.type_string() }}) as district_code,
    cast(district_name as {{ dbt.type_string() }}) as district_name,
    cast(street_code as {{ dbt.type_string() }}) as street_code,
    cast(street_name as {{ dbt.type_string() }}) as street_name,
    cast(is_reference as boolean) as is_reference
from units
