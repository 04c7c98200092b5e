{#- Every run of a warehouse step (the DAG's tasks and `citylake build`): when, how long,
    whether it succeeded and what it reported. -#}
{{ config(tags=['spark_output']) }}

with

runs as (

    select * from {{ source('quality', 'pipeline_step_runs') }}

)

select
    cast(task_id as {{ dbt.type_string() }}) as task_id,
    cast(started_at as timestamp) as started_at,
    cast(finished_at as timestamp) as finished_at,
    cast({{ dbt.datediff('started_at', 'finished_at', 'second') }} as double) as seconds,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(summary as {{ dbt.type_string() }}) as summary
from runs
