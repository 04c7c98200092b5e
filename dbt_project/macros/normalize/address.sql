{#- Addresses as the city writes them: 云港市 江滨区 湖滨街道 安苑社区 <road> <no.>号...
    (city, district, street/subdistrict, community, then the door). address_part pulls one
    administrative name out of a normalized address; null when the address lacks it (firms'
    addresses stop at the street). Names, not codes: staging has no geography to look
    codes up in; int_person_mentions maps names to codes through the household register. -#}
{% macro address_part(col, part) -%}
    {%- set patterns = {
        'district': '^(?:[^市区]{1,6}市)?([^市区]{1,6}区)',
        'street': '([^市区]{2,6}街道)',
        'community': '街道(.{1,10}?社区)',
    } -%}
    {%- if part not in patterns -%}
        {{ exceptions.raise_compiler_error("address_part: part must be one of " ~ patterns.keys() | list ~ ", got " ~ part) }}
    {%- endif -%}
    nullif(regexp_extract({{ col }}, '{{ patterns[part] }}', 1), '')
{%- endmacro %}
