with

tickets as (

    select * from {{ ref('stg_service_center__queue_tickets') }}

),

arrived as (

    select
        center_id,
        {{ dbt.date_trunc('hour', 'issued_at') }} as service_hour,
        count(*) as visitors,
        count(called_at) as called,
        sum(case when wait_minutes <= 10 then 1 else 0 end) as called_within_10_minutes,
        avg(wait_minutes) as mean_wait_minutes,
        max(wait_minutes) as max_wait_minutes

    from tickets
    group by center_id, {{ dbt.date_trunc('hour', 'issued_at') }}

),

staffed as (

    -- A counter is open in an hour when it called a visitor in that hour.
    select
        center_id,
        {{ dbt.date_trunc('hour', 'called_at') }} as service_hour,
        count(distinct counter_no) as counters_open

    from tickets
    where called_at is not null
    group by center_id, {{ dbt.date_trunc('hour', 'called_at') }}

),

joined as (

    select
        arrived.*,
        coalesce(staffed.counters_open, 0) as counters_open

    from arrived
    left join staffed
        on
            arrived.center_id = staffed.center_id
            and arrived.service_hour = staffed.service_hour

)

select
    cast(center_id as {{ dbt.type_string() }}) as center_id,
    cast(service_hour as timestamp) as service_hour,
    cast(visitors as bigint) as visitors,
    cast(counters_open as bigint) as counters_open,
    cast(called_within_10_minutes as double) / nullif(called, 0) as share_called_within_10_minutes,
    cast(mean_wait_minutes as double) as mean_wait_minutes,
    cast(max_wait_minutes as double) as max_wait_minutes
from joined
