{#- What the warnings' quality control did with the readings: every excluded reading
    (with its reason) and every notice (dropouts, out-of-order arrivals, corrected clocks). -#}
{{ config(tags=['spark_output']) }}

with

records as (

    select * from {{ source('spark_jobs', 'warning_records') }}

),

checked as (

    select * from records
    where record in ('exclusion', 'notice')

)

select
    cast(hazard as {{ dbt.type_string() }}) as hazard,
    cast(district_code as {{ dbt.type_string() }}) as district_code,
    cast(station_id as {{ dbt.type_string() }}) as station_id,
    cast("at" as timestamp) as reading_at,  -- noqa: RF06
    cast(record = 'exclusion' as boolean) as is_excluded,
    cast(reason as {{ dbt.type_string() }}) as reason,
    cast(value as double) as reading_value,
    cast(detail as {{ dbt.type_string() }}) as detail
from checked
