{#- Keyed pseudonym (HMAC-SHA256, hex) of an identifier, the same on DuckDB and Spark.

    citylake_pseudonym() is a session function each engine defines at connect time
    (citylake/serving/pseudonym.py): the key never appears in compiled SQL, the manifest or docs.
    The value is normalized first (trimmed, upper case: resident IDs end in X or x), so
    call it on the already-normalized identifier (resident ID, USCC, normalized phone).
    Use it in table models only: a view calling it fails for readers without the key. -#}
{% macro pseudonym(col) -%}
    citylake_pseudonym(upper(trim(cast({{ col }} as {{ dbt.type_string() }}))))
{%- endmacro %}
