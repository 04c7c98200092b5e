{#- One row per application: channel, one-visit and on-the-spot flags, processing time.
    The applicant appears only as the unified citizen's pseudonym (applicant_citizen_sk,
    as dim_citizen.citizen_sk) and the firm's USCC. -#}

with

applications as (

    select * from {{ ref('stg_service_center__applications') }}

),

crosswalk as (

    select * from {{ ref('int_citizen_crosswalk') }}

),

keyed as (

    select
        applications.*,
        {{ pseudonym('crosswalk.citizen_key') }} as applicant_citizen_sk,
        {{ dbt.date_trunc('day', 'submitted_at') }} as submitted_day,
        {{ dbt.datediff('submitted_at', 'completed_at', 'hour') }} / 24.0 as processing_days  -- noqa: LT05

    from applications
    -- The entity-resolution crosswalk names the unified citizen of each person mention.
    left join crosswalk
        on crosswalk.mention_id = {{ dbt.concat([
            'applications.source_id', "':'", 'applications.record_key', "':'",
            "case applications.applicant_type when 'person' then 'applicant' else 'agent' end"]) }}

)

select
    cast(application_no as {{ dbt.type_string() }}) as application_no,
    cast(matter_code as {{ dbt.type_string() }}) as matter_code,
    cast(service_category as {{ dbt.type_string() }}) as service_category,
    cast(competent_department as {{ dbt.type_string() }}) as competent_department,
    cast(channel as {{ dbt.type_string() }}) as channel,
    cast(center_id as {{ dbt.type_string() }}) as center_id,
    cast(applicant_type as {{ dbt.type_string() }}) as applicant_type,
    cast(applicant_citizen_sk as {{ dbt.type_string() }}) as applicant_citizen_sk,
    cast(applicant_resident_id_is_valid as boolean) as applicant_resident_id_is_valid,
    cast(applicant_uscc as {{ dbt.type_string() }}) as applicant_uscc,
    cast(applicant_uscc_is_valid as boolean) as applicant_uscc_is_valid,
    cast(submitted_at as timestamp) as submitted_at,
    cast(submitted_day as date) as submitted_date,
    cast(one_visit as boolean) as one_visit,
    cast(resolved_on_spot as boolean) as resolved_on_spot,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(promised_days as integer) as promised_days,
    cast(completed_at as timestamp) as completed_at,
    cast(processing_days as double) as processing_days,
    cast(processing_days <= promised_days as boolean) as completed_within_promise
from keyed
