{{ config(tags=['spark_output']) }}

{#- Weekly hotspot cells from the triage step (citylake/complaints/hotspots.py): a community's
    complaints of one category, or a firm's, against what its size explains (Poisson upper
    tail, Bonferroni threshold). Only cells with at least one complaint are listed. -#}

with

cells as (

    select * from {{ source('spark_jobs', 'complaint_hotspots') }}

),

geography as (

    select * from {{ ref('dim_geography') }}

),

firms as (

    select * from {{ ref('dim_enterprise') }}

),

named as (

    select
        cells.*,
        geography.geography_name as community_name,
        geography.district_code as community_district_code,
        firms.enterprise_name,
        firms.district_code as firm_district_code
    from cells
    left join geography on cells.community_code = geography.geography_code
    left join firms on cells.enterprise_key = firms.enterprise_key

)

select
    cast(kind as {{ dbt.type_string() }}) as kind,
    cast(week as date) as week_start,
    cast(category as {{ dbt.type_string() }}) as category,
    cast(coalesce(community_district_code, firm_district_code) as {{ dbt.type_string() }})
        as district_code,
    cast(community_code as {{ dbt.type_string() }}) as community_code,
    cast(community_name as {{ dbt.type_string() }}) as community_name,
    cast(enterprise_key as {{ dbt.type_string() }}) as enterprise_key,
    cast(enterprise_name as {{ dbt.type_string() }}) as enterprise_name,
    cast(complaints as integer) as complaints,
    cast(expected as double) as expected,
    cast(ratio as double) as ratio,
    cast(p_value as double) as p_value,
    cast(threshold as double) as threshold,
    cast(is_hotspot as boolean) as is_hotspot
from named
