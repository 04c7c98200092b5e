{#- Where a lake table lives; the root comes from citylake.settings via the environment. -#}
{% macro lake_path(relative) -%}
    {{ env_var('CITYLAKE_LAKE_ROOT', '../.citylake/lake') }}/{{ relative }}
{%- endmacro %}
