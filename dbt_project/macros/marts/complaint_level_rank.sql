{#- The escalation ladder of a 12345 complaint as a number: community 1, street 2,
    district 3, department 4 (null for anything else). -#}
{% macro complaint_level_rank(column) -%}
    case {{ column }}
        when 'community' then 1
        when 'street' then 2
        when 'district' then 3
        when 'department' then 4
    end
{%- endmacro %}
