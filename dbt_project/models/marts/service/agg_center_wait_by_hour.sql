{#- Waiting at the counters per center and hour of the day (over the whole history):
    median and 90th-percentile wait, and the share called within 10 minutes (the service
    level staffing targets). Served tickets only: a no-show has no wait. -#}

with

tickets as (

    select * from {{ ref('fct_queue_ticket') }}

),

served as (

    select
        center_id,
        extract(hour from issued_at) as hour_of_day,
        wait_minutes,
        handle_minutes
    from tickets
    where status = 'served' and wait_minutes is not null

),

hours as (

    select
        center_id,
        hour_of_day,
        count(*) as served_tickets,
        {{ percentile('wait_minutes', 0.5) }} as median_wait_minutes,
        {{ percentile('wait_minutes', 0.9) }} as p90_wait_minutes,
        avg(wait_minutes) as mean_wait_minutes,
        avg(handle_minutes) as mean_handle_minutes,
        {{ share_where('wait_minutes <= 10') }} as share_within_10_minutes
    from served
    group by center_id, hour_of_day

)

select
    cast(center_id as {{ dbt.type_string() }}) as center_id,
    cast(hour_of_day as integer) as hour_of_day,
    cast(served_tickets as bigint) as served_tickets,
    cast(median_wait_minutes as double) as median_wait_minutes,
    cast(p90_wait_minutes as double) as p90_wait_minutes,
    cast(mean_wait_minutes as double) as mean_wait_minutes,
    cast(mean_handle_minutes as double) as mean_handle_minutes,
    cast(share_within_10_minutes as double) as share_within_10_minutes
from hours
