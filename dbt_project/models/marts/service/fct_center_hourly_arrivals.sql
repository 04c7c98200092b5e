{{ config(meta={'export_to_lake': true}) }}

with

tickets as (

    select * from {{ ref('stg_service_center__queue_tickets') }}

),

hourly as (

    select
        center_id,
        any_value(center_name) as center_name,
        service_category,
        date_trunc('hour', issued_at) as arrival_hour,
        count(*) as arrivals,
        avg(wait_minutes) as mean_wait_minutes,
        avg(handle_minutes) as mean_handle_minutes

    from tickets
    group by center_id, service_category, date_trunc('hour', issued_at)

)

select
    cast(center_id as varchar) as center_id,
    cast(center_name as varchar) as center_name,
    cast(service_category as varchar) as service_category,
    cast(arrival_hour as timestamp) as arrival_hour,
    cast(arrivals as bigint) as arrivals,
    cast(mean_wait_minutes as double) as mean_wait_minutes,
    cast(mean_handle_minutes as double) as mean_handle_minutes
from hourly
