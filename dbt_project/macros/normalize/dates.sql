{#- Dates as departments key them. casting.py types only the catalog's date/timestamp
    columns at landing; the columns documented "Date keyed as free text" arrive as strings
    in YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or YYYY年MM月DD日 (digits sometimes full-width,
    month and day sometimes unpadded, sometimes a time after a space). Already typed dates
    pass through unchanged. Null when the parts are not a calendar date. -#}
{% macro parse_mixed_date(col) -%}
    {%- set text = "trim(translate(cast(" ~ col ~ " as " ~ dbt.type_string()
        ~ "), '０１２３４５６７８９', '0123456789'))" -%}
    {%- set pattern = '^([0-9]{4})[^0-9]?([0-9]{1,2})[^0-9]?([0-9]{1,2})[^0-9]?([ T].*)?$' -%}
    {{ try_cast_as(dbt.concat([
        "regexp_extract(" ~ text ~ ", '" ~ pattern ~ "', 1)", "'-'",
        "lpad(regexp_extract(" ~ text ~ ", '" ~ pattern ~ "', 2), 2, '0')", "'-'",
        "lpad(regexp_extract(" ~ text ~ ", '" ~ pattern ~ "', 3), 2, '0')"]), 'date') }}
{%- endmacro %}

{#- A month keyed as YYYY-MM, YYYY年MM月 or YYYYMM, as the date of its first day. -#}
{% macro parse_year_month(col) -%}
    {%- set text = "trim(translate(cast(" ~ col ~ " as " ~ dbt.type_string()
        ~ "), '０１２３４５６７８９', '0123456789'))" -%}
    {%- set pattern = '^([0-9]{4})[^0-9]?([0-9]{1,2})[^0-9]?$' -%}
    {{ try_cast_as(dbt.concat([
        "regexp_extract(" ~ text ~ ", '" ~ pattern ~ "', 1)", "'-'",
        "lpad(regexp_extract(" ~ text ~ ", '" ~ pattern ~ "', 2), 2, '0')", "'-01'"]), 'date') }}
{%- endmacro %}

{#- An amount keyed with thousands separators, sometimes full-width ("１２,３４５.６０"). -#}
{% macro parse_amount(col) -%}
    {{ try_cast_as("replace(" ~ normalize_text(col) ~ ", ',', '')", 'decimal(18, 2)') }}
{%- endmacro %}
