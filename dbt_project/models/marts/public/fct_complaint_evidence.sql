{{ config(tags=['spark_output']) }}

{#- Sensor evidence near a road, water or sanitation complaint, in time and place: a manhole
    cover in the complaint's district tilted past its alarm angle (10 degrees) for a call
    about a cover, or with water above the alarm level for a call about water, in the 6
    hours before to 1 hour after the call; and a rainstorm or flood warning issued or
    raised there in the 12 hours before. -#}

with

triage as (

    select * from {{ ref('fct_complaint_triage') }}

),

readings as (

    select * from {{ ref('fct_sensor_reading_hourly') }}

),

warning_changes as (

    select * from {{ ref('fct_warning_changes') }}

),

complaints as (

    select complaint_id, received_at, district_code, mentions_manhole, mentions_flooding
    from triage
    where inferred_category in ('road', 'water', 'sanitation') and district_code is not null

),

manholes as (

    select station_id, district_code, hour_start, max_tilt_deg, water_level_alarm
    from readings
    where sensor_type = 'manhole_tilt' and (max_tilt_deg >= 10 or water_level_alarm)

),

manhole_evidence as (

    select
        complaints.complaint_id,
        case when manholes.max_tilt_deg >= 10 then 'manhole_tilt' else 'manhole_water' end
            as evidence_kind,
        manholes.station_id as evidence_ref,
        manholes.hour_start as observed_at,
        manholes.max_tilt_deg as observed_value,
        complaints.district_code
    from complaints
    inner join manholes
        on complaints.district_code = manholes.district_code
        -- a tilted cover confirms a call about a cover; water in a well, one about water
        and (
            (manholes.max_tilt_deg >= 10 and complaints.mentions_manhole)
            or (manholes.max_tilt_deg < 10 and complaints.mentions_flooding)
        )
        and manholes.hour_start >= {{ dbt.dateadd('hour', -6, 'complaints.received_at') }}
        and manholes.hour_start <= {{ dbt.dateadd('hour', 1, 'complaints.received_at') }}

),

warning_evidence as (

    select
        complaints.complaint_id,
        'warning' as evidence_kind,
        warning_changes.warning_id as evidence_ref,
        warning_changes.changed_at as observed_at,
        cast(warning_changes.level_rank as double) as observed_value,
        complaints.district_code
    from complaints
    inner join warning_changes
        on complaints.district_code = warning_changes.district_code
        and warning_changes.hazard in ('rainstorm', 'flood')
        and warning_changes.action in ('issued', 'upgraded')
        and warning_changes.changed_at >= {{ dbt.dateadd('hour', -12, 'complaints.received_at') }}
        and warning_changes.changed_at <= complaints.received_at

),

unioned as (

    select * from manhole_evidence
    union all
    select * from warning_evidence

)

select
    cast(complaint_id as {{ dbt.type_string() }}) as complaint_id,
    cast(evidence_kind as {{ dbt.type_string() }}) as evidence_kind,
    cast(evidence_ref as {{ dbt.type_string() }}) as evidence_ref,
    cast(observed_at as timestamp) as observed_at,
    cast(observed_value as double) as observed_value,
    cast(district_code as {{ dbt.type_string() }}) as district_code
from unioned
