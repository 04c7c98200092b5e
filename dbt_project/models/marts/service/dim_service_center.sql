{#- One row per administrative service center, from every service-center system that
    names one. The district comes from the center's name (江滨区行政服务中心: district
    level; 江滨区白沙街道便民服务中心: street level), matched against dim_geography. -#}

with

tickets as (

    select * from {{ ref('stg_service_center__queue_tickets') }}

),

appointments as (

    select * from {{ ref('stg_service_center__appointments') }}

),

kiosk_sessions as (

    select * from {{ ref('stg_service_center__kiosk_sessions') }}

),

applications as (

    select * from {{ ref('stg_service_center__applications') }}

),

geography as (

    select * from {{ ref('dim_geography') }}

),

named_centers as (

    select
        center_id,
        center_name
    from tickets

    union all

    select
        center_id,
        center_name
    from appointments

),

all_center_ids as (

    select center_id from named_centers

    union distinct

    select center_id from kiosk_sessions

    union distinct

    select center_id from applications
    where center_id is not null

),

centers as (

    select
        all_center_ids.center_id,
        min(named_centers.center_name) as center_name
    from all_center_ids
    left join named_centers on all_center_ids.center_id = named_centers.center_id
    group by all_center_ids.center_id

),

districts as (

    select
        geography_code as district_code,
        geography_name as district_name
    from geography
    where geography_level = 'district' and is_reference

),

streets as (

    select
        geography_code as street_code,
        geography_name as street_name,
        district_code
    from geography
    where geography_level = 'street' and is_reference

),

located as (

    select
        centers.center_id,
        centers.center_name,
        case
            when centers.center_name like '%行政服务中心' then 'district'
            when centers.center_name like '%便民服务中心' then 'street'
        end as center_level,
        districts.district_code,
        districts.district_name,
        streets.street_code,
        streets.street_name
    from centers
    left join districts
        on centers.center_name like {{ dbt.concat(['districts.district_name', "'%'"]) }}
    left join streets
        on
            districts.district_code = streets.district_code
            and centers.center_name like {{ dbt.concat(["'%'", 'streets.street_name', "'%'"]) }}

)

select
    cast(center_id as {{ dbt.type_string() }}) as center_id,
    cast(center_name as {{ dbt.type_string() }}) as center_name,
    cast(center_level as {{ dbt.type_string() }}) as center_level,
    cast(district_code as {{ dbt.type_string() }}) as district_code,
    cast(district_name as {{ dbt.type_string() }}) as district_name,
    cast(street_code as {{ dbt.type_string() }}) as street_code,
    cast(street_name as {{ dbt.type_string() }}) as street_name
from located
