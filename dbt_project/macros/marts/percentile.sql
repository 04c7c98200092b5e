{#- A continuous percentile as an aggregate (median: fraction 0.5). DuckDB has median()
    and Spark percentile(); both also take the SQL standard's ordered-set form, which is
    the default here so that the same model builds on both. -#}
{% macro percentile(expr, fraction) -%}
    {{ return(adapter.dispatch('percentile', 'citylake')(expr, fraction)) }}
{%- endmacro %}

{% macro default__percentile(expr, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expr }})
{%- endmacro %}

{#- A share between 0 and 1 of rows where the condition holds (null when no rows). -#}
{% macro share_where(condition) -%}
    avg(case when {{ condition }} then 1.0 else 0.0 end)
{%- endmacro %}
