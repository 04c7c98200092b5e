{#- One row per level a complaint was assigned to, in order: how long that level held it,
    whether it passed it up or closed it, and whether it overran the level's time limit
    (var complaint_hop_limit_hours; a hop still open is judged against the end of the
    data). -#}

with

events as (

    select * from {{ ref('stg_hotline__work_orders') }}

),

complaints as (

    select * from {{ ref('fct_complaint') }}

),

assigned as (

    select
        complaint_id,
        seq,
        level,
        unit,
        event_at as assigned_at,
        row_number() over (partition by complaint_id order by seq) as hop
    from events
    where event = 'assigned'

),

closed as (

    select
        complaint_id,
        level,
        event_at as closed_at,
        category as closing_category
    from events
    where event = 'closed'

),

data_end as (

    select max(event_at) as last_event_at from events

),

hops as (

    select
        assigned.*,
        lead(assigned.assigned_at) over (
            partition by assigned.complaint_id order by assigned.seq
        ) as next_assigned_at,
        closed.closed_at,
        closed.closing_category
    from assigned
    left join closed
        on assigned.complaint_id = closed.complaint_id and assigned.level = closed.level

),

judged as (

    select
        hops.*,
        coalesce(hops.next_assigned_at, hops.closed_at) as left_at,
        case
            when hops.next_assigned_at is not null then 'escalated'
            when hops.closed_at is not null then 'closed'
            else 'open'
        end as outcome,
        case hops.level
            {% for level, hours in var('complaint_hop_limit_hours').items() -%}
            when '{{ level }}' then {{ hours }}
            {% endfor -%}
        end as limit_hours,
        data_end.last_event_at
    from hops
    cross join data_end

),

timed as (

    select
        judged.*,
        {{ dbt.datediff('judged.assigned_at', 'coalesce(judged.left_at, judged.last_event_at)', 'minute') }}
        / 60.0 as hours_held
    from judged

)

select
    cast(timed.complaint_id as {{ dbt.type_string() }}) as complaint_id,
    cast(timed.hop as integer) as hop,
    cast(timed.level as {{ dbt.type_string() }}) as level,
    cast(timed.unit as {{ dbt.type_string() }}) as unit,
    cast(timed.assigned_at as timestamp) as assigned_at,
    cast(timed.left_at as timestamp) as left_at,
    cast(timed.outcome as {{ dbt.type_string() }}) as outcome,
    cast(timed.hours_held as double) as hours_held,
    cast(timed.limit_hours as double) as limit_hours,
    cast(timed.hours_held > timed.limit_hours as boolean) as is_overdue,
    cast(timed.closing_category as {{ dbt.type_string() }}) as closing_category,
    cast(complaints.district_code as {{ dbt.type_string() }}) as district_code,
    cast(complaints.street_code as {{ dbt.type_string() }}) as street_code,
    cast(complaints.category as {{ dbt.type_string() }}) as operator_category,
    cast(complaints.received_at as timestamp) as received_at
from timed
left join complaints on timed.complaint_id = complaints.complaint_id
