{{ config(tags=['spark_output']) }}

with

records as (

    select * from {{ source('spark_jobs', 'warning_records') }}

),

districts as (

    select distinct
        district_code,
        district_name
    from {{ ref('dim_geography') }}

),

changes as (

    select * from records
    where record = 'change'

),

named as (

    select
        changes.*,
        districts.district_name
    from changes
    left join districts on changes.district_code = districts.district_code

)

select
    cast(warning_id as {{ dbt.type_string() }}) as warning_id,
    cast(sequence as integer) as change_sequence,
    cast(hazard as {{ dbt.type_string() }}) as hazard,
    cast(district_code as {{ dbt.type_string() }}) as district_code,
    cast(district_name as {{ dbt.type_string() }}) as district_name,
    cast(action as {{ dbt.type_string() }}) as action,  -- noqa: RF04
    cast(level as {{ dbt.type_string() }}) as level,  -- noqa: RF04
    cast(
        case level when 'blue' then 1 when 'yellow' then 2 when 'orange' then 3 when 'red' then 4 end
        as integer
    ) as level_rank,
    cast(previous_level as {{ dbt.type_string() }}) as previous_level,
    cast("at" as timestamp) as changed_at,  -- noqa: RF06
    cast(predicted as boolean) as is_predicted,
    cast(station_id as {{ dbt.type_string() }}) as evidence_station_id,
    cast(observed_level as {{ dbt.type_string() }}) as observed_level,
    cast(predicted_level as {{ dbt.type_string() }}) as predicted_level,
    cast(lead_minutes as integer) as nowcast_lead_minutes,
    cast(detail as {{ dbt.type_string() }}) as evidence_json
from named
