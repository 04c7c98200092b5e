{{ config(tags=['spark_output']) }}

{#- What routing each complaint straight to its predicted competent level would have saved,
    against the escalation ladder the work-order log shows (community -> street -> district
    -> department). A complaint is routed past the community only when the triage is at
    least var complaint_direct_route_confidence sure of its level. Routed at or below the
    level that closed it, every hop below the routed level is skipped with the hours it
    held the complaint; routed above it, the office sends it back down, which costs one hop
    and the median hours that level takes to pass on what is not its own (a department,
    which never passes one up, the median of every level). -#}

with

triage as (

    select * from {{ ref('fct_complaint_triage') }}

),

hops as (

    select * from {{ ref('fct_complaint_hops') }}

),

ranked_hops as (

    select
        hops.*,
        {{ complaint_level_rank('hops.level') }} as level_rank
    from hops

),

closings as (

    select
        complaint_id,
        level as closed_level,
        level_rank as closed_rank
    from ranked_hops
    where outcome = 'closed'

),

pass_on_hours as (

    select
        level,
        {{ percentile("hours_held", 0.5) }} as median_hours_to_pass_on
    from ranked_hops
    where outcome = 'escalated'
    group by level

),

pass_on_hours_overall as (

    {#- A department never passes a complaint up: it takes the median of every level. -#}
    select {{ percentile("hours_held", 0.5) }} as median_hours_to_pass_on
    from ranked_hops
    where outcome = 'escalated'

),

routed as (

    select
        triage.complaint_id,
        triage.district_code,
        triage.street_code,
        triage.received_at,
        triage.is_out_of_sample,
        triage.predicted_level,
        triage.level_confidence,
        case
            when triage.level_confidence >= {{ var('complaint_direct_route_confidence') }}
                then triage.predicted_level
            else 'community'
        end as routed_level
    from triage

),

ladder as (

    select
        routed.*,
        {{ complaint_level_rank('routed.routed_level') }} as routed_rank,
        closings.closed_level,
        closings.closed_rank,
        count(ranked_hops.hop) as hops_in_log,
        coalesce(sum(case when ranked_hops.outcome = 'escalated' then ranked_hops.hours_held end), 0)
            as hours_before_competent,
        count(case
            when ranked_hops.outcome = 'escalated'
                and ranked_hops.level_rank < {{ complaint_level_rank('routed.routed_level') }}
                then 1
        end) as hops_below_routed,
        coalesce(sum(case
            when ranked_hops.outcome = 'escalated'
                and ranked_hops.level_rank < {{ complaint_level_rank('routed.routed_level') }}
                then ranked_hops.hours_held
        end), 0) as hours_below_routed
    from routed
    left join closings on routed.complaint_id = closings.complaint_id
    left join ranked_hops on routed.complaint_id = ranked_hops.complaint_id
    group by
        routed.complaint_id, routed.district_code, routed.street_code, routed.received_at,
        routed.is_out_of_sample, routed.predicted_level, routed.level_confidence,
        routed.routed_level, closings.closed_level, closings.closed_rank

),

judged as (

    select
        ladder.*,
        case
            when ladder.closed_level is null then 'open'
            when ladder.routed_rank = 1 then 'community_first'
            when ladder.routed_rank = ladder.closed_rank then 'direct'
            when ladder.routed_rank < ladder.closed_rank then 'partly_direct'
            else 'over_routed'
        end as route_outcome,
        coalesce(
            pass_on_hours.median_hours_to_pass_on,
            pass_on_hours_overall.median_hours_to_pass_on
        ) as median_hours_to_pass_on
    from ladder
    left join pass_on_hours on ladder.routed_level = pass_on_hours.level
    cross join pass_on_hours_overall

)

select
    cast(complaint_id as {{ dbt.type_string() }}) as complaint_id,
    cast(district_code as {{ dbt.type_string() }}) as district_code,
    cast(street_code as {{ dbt.type_string() }}) as street_code,
    cast(received_at as timestamp) as received_at,
    cast(is_out_of_sample as boolean) as is_out_of_sample,
    cast(predicted_level as {{ dbt.type_string() }}) as predicted_level,
    cast(level_confidence as double) as level_confidence,
    cast(routed_level as {{ dbt.type_string() }}) as routed_level,
    cast(closed_level as {{ dbt.type_string() }}) as closed_level,
    cast(route_outcome as {{ dbt.type_string() }}) as route_outcome,
    cast(hops_in_log as integer) as hops_in_log,
    cast(hours_before_competent as double) as hours_before_competent,
    cast(case
        when route_outcome = 'over_routed' then -1
        when route_outcome = 'open' then null
        else hops_below_routed
    end as integer) as hops_saved,
    cast(case
        when route_outcome = 'over_routed' then -coalesce(median_hours_to_pass_on, 0)
        when route_outcome = 'open' then null
        else hours_below_routed
    end as double) as hours_saved
from judged
