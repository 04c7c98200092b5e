{{ config(tags=['spark_output']) }}

{#- Where supervision should look first: one row per unified enterprise with complaints
    naming it, weeks it was a complaint hotspot, failed fire inspections or licence
    problems, scored together and ranked (Yinchuan's "sectors where problems often
    happen"). The score weighs a hotspot week 3, a complaint in the last 28 days 1, a
    failed inspection 2 and a cancelled or expired licence 2. -#}

with

triage as (

    select * from {{ ref('fct_complaint_triage') }}

),

hotspots as (

    select * from {{ ref('fct_complaint_hotspots') }}

),

inspections as (

    select * from {{ ref('stg_fire_rescue__inspections') }}

),

enterprise_crosswalk as (

    select * from {{ ref('int_enterprise_crosswalk') }}

),

licences as (

    select * from {{ ref('fct_licence') }}

),

firms as (

    select * from {{ ref('dim_enterprise') }}

),

data_end as (

    select max(received_at) as last_received_at from triage

),

complaints as (

    select
        triage.enterprise_key,
        count(*) as complaints,
        sum(
            case
                when triage.received_at
                    >= {{ dbt.dateadd('day', -28, 'data_end.last_received_at') }}
                    then 1
                else 0
            end
        ) as recent_complaints
    from triage
    cross join data_end
    where triage.enterprise_key is not null
    group by triage.enterprise_key

),

hotspot_weeks as (

    select
        enterprise_key,
        count(*) as hotspot_weeks,
        max(week_start) as last_hotspot_week
    from hotspots
    where kind = 'firm' and is_hotspot
    group by enterprise_key

),

inspected as (

    select
        enterprise_crosswalk.enterprise_key,
        sum(case when inspections.result != '合格' then 1 else 0 end) as failed_inspections,
        sum(inspections.hazards_found) as hazards_found
    from inspections
    inner join enterprise_crosswalk
        on enterprise_crosswalk.mention_id = {{ dbt.concat([
            'inspections.source_id', "':'", 'inspections.record_key', "':subject'"]) }}
    group by enterprise_crosswalk.enterprise_key

),

licence_problems as (

    select
        enterprise_key,
        sum(case when status in ('cancelled', 'expired') then 1 else 0 end) as licence_issues
    from licences
    where enterprise_key is not null
    group by enterprise_key

),

candidates as (

    select enterprise_key from complaints
    union
    select enterprise_key from hotspot_weeks
    union
    select enterprise_key from inspected where failed_inspections > 0
    union
    select enterprise_key from licence_problems where licence_issues > 0

),

scored as (

    select
        candidates.enterprise_key,
        firms.enterprise_name,
        firms.district_code,
        coalesce(complaints.complaints, 0) as complaints,
        coalesce(complaints.recent_complaints, 0) as recent_complaints,
        coalesce(hotspot_weeks.hotspot_weeks, 0) as hotspot_weeks,
        hotspot_weeks.last_hotspot_week,
        coalesce(inspected.failed_inspections, 0) as failed_inspections,
        coalesce(inspected.hazards_found, 0) as hazards_found,
        coalesce(licence_problems.licence_issues, 0) as licence_issues
    from candidates
    left join firms on candidates.enterprise_key = firms.enterprise_key
    left join complaints on candidates.enterprise_key = complaints.enterprise_key
    left join hotspot_weeks on candidates.enterprise_key = hotspot_weeks.enterprise_key
    left join inspected on candidates.enterprise_key = inspected.enterprise_key
    left join licence_problems on candidates.enterprise_key = licence_problems.enterprise_key

),

ranked as (

    select
        scored.*,
        3 * hotspot_weeks + recent_complaints + 2 * failed_inspections + 2 * licence_issues
            as supervision_score
    from scored

)

select
    cast(enterprise_key as {{ dbt.type_string() }}) as enterprise_key,
    cast(enterprise_name as {{ dbt.type_string() }}) as enterprise_name,
    cast(district_code as {{ dbt.type_string() }}) as district_code,
    cast(complaints as integer) as complaints,
    cast(recent_complaints as integer) as recent_complaints,
    cast(hotspot_weeks as integer) as hotspot_weeks,
    cast(last_hotspot_week as date) as last_hotspot_week,
    cast(failed_inspections as integer) as failed_inspections,
    cast(hazards_found as integer) as hazards_found,
    cast(licence_issues as integer) as licence_issues,
    cast(supervision_score as integer) as supervision_score,
    cast(
        rank() over (order by supervision_score desc, enterprise_key) as integer
    ) as supervision_rank
from ranked
