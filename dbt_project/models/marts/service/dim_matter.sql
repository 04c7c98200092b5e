{#- One row per government matter (事项) applied for at the centers, with its service
    category and competent department, and how it is usually done. -#}

with

applications as (

    select * from {{ ref('stg_service_center__applications') }}

),

matters as (

    select
        matter_code,
        min(matter_name) as matter_name,
        min(service_category) as service_category,
        min(competent_department) as competent_department,
        count(*) as applications,
        avg(case when one_visit then 1.0 else 0.0 end) as share_one_visit,
        avg(case when resolved_on_spot then 1.0 else 0.0 end) as share_resolved_on_spot,
        avg(case when channel = 'online' then 1.0 else 0.0 end) as share_online,
        max(promised_days) as promised_days
    from applications
    group by matter_code

)

select
    cast(matter_code as {{ dbt.type_string() }}) as matter_code,
    cast(matter_name as {{ dbt.type_string() }}) as matter_name,
    cast(service_category as {{ dbt.type_string() }}) as service_category,
    cast(competent_department as {{ dbt.type_string() }}) as competent_department,
    cast(applications as bigint) as applications,
    cast(share_one_visit as double) as share_one_visit,
    cast(share_resolved_on_spot as double) as share_resolved_on_spot,
    cast(share_online as double) as share_online,
    cast(promised_days as integer) as promised_days
from matters
