{#- Each hazard and district's warning now: the latest change of its latest warning. -#}
{{ config(tags=['spark_output']) }}

with

changes as (

    select * from {{ ref('fct_warning_changes') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by hazard, district_code
            order by changed_at desc, change_sequence desc
        ) as recency,
        min(changed_at) over (partition by warning_id) as issued_at
    from changes

),

latest as (

    select * from ranked
    where recency = 1

)

select
    cast(hazard as {{ dbt.type_string() }}) as hazard,
    cast(
        case hazard
            when 'rainstorm' then '暴雨'
            when 'heat' then '高温'
            when 'flood' then '洪水'
            when 'air_quality' then '重污染天气'
        end as {{ dbt.type_string() }}
    ) as hazard_name,
    cast(district_code as {{ dbt.type_string() }}) as district_code,
    cast(district_name as {{ dbt.type_string() }}) as district_name,
    cast(warning_id as {{ dbt.type_string() }}) as warning_id,
    cast(action <> 'lifted' as boolean) as is_active,
    cast(case when action = 'lifted' then null else level end as {{ dbt.type_string() }})
        as active_level,
    cast(
        case when action = 'lifted' then null else
            case level
                when 'blue' then '蓝色预警'
                when 'yellow' then '黄色预警'
                when 'orange' then '橙色预警'
                when 'red' then '红色预警'
            end
        end as {{ dbt.type_string() }}
    ) as level_name,
    cast(
        case when action = 'lifted' then 0 else
            case level when 'blue' then 1 when 'yellow' then 2 when 'orange' then 3 when 'red' then 4 end
        end as integer
    ) as active_rank,
    cast(level as {{ dbt.type_string() }}) as last_level,
    cast(action as {{ dbt.type_string() }}) as last_action,
    cast(issued_at as timestamp) as issued_at,
    cast(changed_at as timestamp) as last_changed_at,
    cast(change_sequence as integer) as changes_so_far
from latest
