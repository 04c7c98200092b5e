{#- Service efficiency per day and service category, the measures the one-visit reform is
    judged by: share of matters done in one visit, resolved on the spot, done online / at a
    kiosk / at a counter, and the median wait at the counters. -#}

with

applications as (

    select * from {{ ref('fct_application') }}

),

tickets as (

    select * from {{ ref('fct_queue_ticket') }}

),

application_days as (

    select
        submitted_date as service_date,
        service_category,
        count(*) as applications,
        {{ share_where('one_visit') }} as share_one_visit,
        {{ share_where('resolved_on_spot') }} as share_resolved_on_spot,
        {{ share_where("channel = 'online'") }} as share_online,
        {{ share_where("channel = 'kiosk'") }} as share_kiosk,
        {{ share_where("channel = 'counter'") }} as share_counter,
        {{ share_where("status = 'completed'") }} as share_completed
    from applications
    group by submitted_date, service_category

),

ticket_days as (

    select
        cast({{ dbt.date_trunc('day', 'issued_at') }} as date) as service_date,
        service_category,
        count(*) as tickets,
        sum(case when status = 'served' then 1 else 0 end) as tickets_served,
        {{ percentile('wait_minutes', 0.5) }} as median_wait_minutes,
        {{ percentile('handle_minutes', 0.5) }} as median_handle_minutes
    from tickets
    group by cast({{ dbt.date_trunc('day', 'issued_at') }} as date), service_category

),

days as (

    select
        coalesce(application_days.service_date, ticket_days.service_date) as service_date,
        coalesce(application_days.service_category, ticket_days.service_category)
            as service_category,
        coalesce(application_days.applications, 0) as applications,
        application_days.share_one_visit,
        application_days.share_resolved_on_spot,
        application_days.share_online,
        application_days.share_kiosk,
        application_days.share_counter,
        application_days.share_completed,
        coalesce(ticket_days.tickets, 0) as tickets,
        coalesce(ticket_days.tickets_served, 0) as tickets_served,
        ticket_days.median_wait_minutes,
        ticket_days.median_handle_minutes
    from application_days
    full outer join ticket_days
        on
            application_days.service_date = ticket_days.service_date
            and application_days.service_category = ticket_days.service_category

)

select
    cast(service_date as date) as service_date,
    cast(service_category as {{ dbt.type_string() }}) as service_category,
    cast(applications as bigint) as applications,
    cast(share_one_visit as double) as share_one_visit,
    cast(share_resolved_on_spot as double) as share_resolved_on_spot,
    cast(share_online as double) as share_online,
    cast(share_kiosk as double) as share_kiosk,
    cast(share_counter as double) as share_counter,
    cast(share_completed as double) as share_completed,
    cast(tickets as bigint) as tickets,
    cast(tickets_served as bigint) as tickets_served,
    cast(median_wait_minutes as double) as median_wait_minutes,
    cast(median_handle_minutes as double) as median_handle_minutes
from days
