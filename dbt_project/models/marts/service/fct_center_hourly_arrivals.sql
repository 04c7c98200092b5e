{{ config(meta={'export_to_lake': true}) }}

with

tickets as (

    select * from {{ ref('stg_service_center__queue_tickets') }}

),

hourly as (

    select
        center_id,
        min(center_name) as center_name,
        service_category,
        {{ dbt.date_trunc('hour', 'issued_at') }} as arrival_hour,
        count(*) as arrivals,
        avg(wait_minutes) as mean_wait_minutes,
        avg(handle_minutes) as mean_handle_minutes

    from tickets
    group by center_id, service_category, {{ dbt.date_trunc('hour', 'issued_at') }}

)

select
    cast(center_id as {{ dbt.type_string() }}) as center_id,
    cast(center_name as {{ dbt.type_string() }}) as center_name,
    cast(service_category as {{ dbt.type_string() }}) as service_category,
    cast(arrival_hour as timestamp) as arrival_hour,
    cast(arrivals as bigint) as arrivals,
    cast(mean_wait_minutes as double) as mean_wait_minutes,
    cast(mean_handle_minutes as double) as mean_handle_minutes
from hourly
