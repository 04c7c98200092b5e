{{ config(tags=['spark_output']) }}

{#- One row per complaint with the triage's answer (citylake/complaints/triage.py): the
    competent level, department and category predicted from what the caller said, and its
    place in the day's queue (public-safety hazards first). -#}

with

triage as (

    select * from {{ source('spark_jobs', 'complaint_triage') }}

),

complaints as (

    select * from {{ ref('fct_complaint') }}

),

joined as (

    select
        triage.*,
        complaints.received_date,
        complaints.street_code,
        complaints.community_code
    from triage
    inner join complaints on triage.complaint_id = complaints.complaint_id

)

select
    cast(complaint_id as {{ dbt.type_string() }}) as complaint_id,
    cast(received_at as timestamp) as received_at,
    cast(received_date as date) as received_date,
    cast(district_code as {{ dbt.type_string() }}) as district_code,
    cast(street_code as {{ dbt.type_string() }}) as street_code,
    cast(community_code as {{ dbt.type_string() }}) as community_code,
    cast(operator_category as {{ dbt.type_string() }}) as operator_category,
    cast(operator_urgency as {{ dbt.type_string() }}) as operator_urgency,
    cast(predicted_level as {{ dbt.type_string() }}) as predicted_level,
    cast(level_confidence as double) as level_confidence,
    cast(predicted_department as {{ dbt.type_string() }}) as predicted_department,
    cast(department_confidence as double) as department_confidence,
    cast(inferred_category as {{ dbt.type_string() }}) as inferred_category,
    cast(category_source as {{ dbt.type_string() }}) as category_source,
    cast(urgent_probability as double) as urgent_probability,
    cast(priority_score as double) as priority_score,
    cast(queue_rank as integer) as queue_rank,
    cast(enterprise_key as {{ dbt.type_string() }}) as enterprise_key,
    cast(mentions_manhole as boolean) as mentions_manhole,
    cast(mentions_flooding as boolean) as mentions_flooding,
    cast(is_out_of_sample as boolean) as is_out_of_sample,
    cast(train_until as timestamp) as train_until
from joined
