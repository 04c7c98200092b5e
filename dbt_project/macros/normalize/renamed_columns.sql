{#- A column a source renamed mid-life (catalog `renamed_from`): landing now maps old names
    to the new one, but bronze written before that still holds the old column. Coalesce
    the new name with whichever old names the relation has, so both histories read as one.
    Introspects the relation at run time; at parse time (no database) it is the new name. -#}
{% macro coalesce_renamed(relation, column, old_names) -%}
    {%- set present = [] -%}
    {%- if execute -%}
        {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
        {%- for old in old_names if old | lower in names -%}
            {%- do present.append(old) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if present -%}
        coalesce({{ column }}, {{ present | join(', ') }})
    {%- else -%}
        {{ column }}
    {%- endif -%}
{%- endmacro %}
