{#- Display masks for direct identifiers (null stays null), DuckDB and Spark alike. -#}

{#- First character, then one '*' per remaining character: 张三丰 -> 张**. -#}
{% macro mask_name(col) -%}
    case
        when {{ col }} is null then null
        else concat(
            left(trim(cast({{ col }} as {{ dbt.type_string() }})), 1),
            repeat('*', greatest(length(trim(cast({{ col }} as {{ dbt.type_string() }}))) - 1, 0))
        )
    end
{%- endmacro %}

{#- Digits only, keeping the first 3 and last 4: 13812345678 -> 138****5678.
    Fewer than 8 digits are masked entirely. -#}
{% macro mask_phone(col) -%}
    {%- set digits = regexp_replace_all('cast(' ~ col ~ ' as ' ~ dbt.type_string() ~ ')', '[^0-9]', '') -%}
    case
        when {{ col }} is null then null
        when length({{ digits }}) < 8 then repeat('*', length({{ digits }}))
        else concat(left({{ digits }}, 3), repeat('*', length({{ digits }}) - 7), right({{ digits }}, 4))
    end
{%- endmacro %}
