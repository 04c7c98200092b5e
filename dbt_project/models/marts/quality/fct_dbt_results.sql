{#- The result of every model and test in the recent dbt invocations (kept by citylake
    from run_results.json), for the pipeline-health dashboard. -#}
{{ config(tags=['spark_output']) }}

with

results as (

    select * from {{ source('quality', 'dbt_results') }}

)

select
    cast(invocation_id as {{ dbt.type_string() }}) as invocation_id,
    cast(command as {{ dbt.type_string() }}) as dbt_command,
    cast(unique_id as {{ dbt.type_string() }}) as unique_id,
    cast(resource_type as {{ dbt.type_string() }}) as resource_type,
    cast(node_name as {{ dbt.type_string() }}) as node_name,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(failures as bigint) as failures,
    cast(execution_seconds as double) as execution_seconds,
    cast(completed_at as timestamp) as completed_at,
    cast(message as {{ dbt.type_string() }}) as message
from results
