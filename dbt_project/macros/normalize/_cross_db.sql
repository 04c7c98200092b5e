{#- Cross-database building blocks for the normalize macros. Every model must build on
    DuckDB (dbt-duckdb) and Spark (dbt-spark): where the two spell a function differently
    these dispatch, with default__ as the ANSI/PostgreSQL spelling. Regex patterns passed
    here must avoid backslashes (Spark string literals treat them as escapes, DuckDB's do
    not): write [0-9] rather than \d. -#}

{#- Every match replaced (DuckDB replaces only the first without the 'g' flag). -#}
{% macro regexp_replace_all(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'citylake')(expr, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro duckdb__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro spark__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{#- True when the regex matches somewhere in expr (anchor it with ^...$ for a full match). -#}
{% macro regexp_matches(expr, pattern) -%}
    {{ return(adapter.dispatch('regexp_matches', 'citylake')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regexp_matches(expr, pattern) -%}
    ({{ expr }} ~ '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__regexp_matches(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__regexp_matches(expr, pattern) -%}
    ({{ expr }} rlike '{{ pattern }}')
{%- endmacro %}

{#- A cast that yields null instead of failing (dbt.safe_cast is a plain cast on Spark,
    which raises under Spark 4's default ANSI mode). -#}
{% macro try_cast_as(expr, type) -%}
    {{ return(adapter.dispatch('try_cast_as', 'citylake')(expr, type)) }}
{%- endmacro %}

{% macro default__try_cast_as(expr, type) -%}
    cast({{ expr }} as {{ type }})
{%- endmacro %}

{% macro duckdb__try_cast_as(expr, type) -%}
    try_cast({{ expr }} as {{ type }})
{%- endmacro %}

{% macro spark__try_cast_as(expr, type) -%}
    try_cast({{ expr }} as {{ type }})
{%- endmacro %}

{#- Full-width ASCII (U+FF01..U+FF5E) plus the ideographic space U+3000, and their
    half-width equivalents, position by position. The spaces sit second, never at an
    end, where Jinja's whitespace control would strip them. The full-width apostrophe
    and backslash are left out: their half-width forms need dialect-specific escaping. -#}
{% macro fullwidth_characters() -%}
！　＂＃＄％＆（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～
{%- endmacro %}

{% macro halfwidth_characters() -%}
! "#$%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~
{%- endmacro %}

{#- An aggregate: the distinct non-null values of expr, sorted, joined by commas. -#}
{% macro sorted_distinct_csv(expr) -%}
    {{ return(adapter.dispatch('sorted_distinct_csv', 'citylake')(expr)) }}
{%- endmacro %}

{% macro default__sorted_distinct_csv(expr) -%}
    string_agg(distinct {{ expr }}, ',' order by {{ expr }})
{%- endmacro %}

{% macro duckdb__sorted_distinct_csv(expr) -%}
    array_to_string(list(distinct {{ expr }} order by {{ expr }}), ',')
{%- endmacro %}

{% macro spark__sorted_distinct_csv(expr) -%}
    array_join(array_sort(collect_set({{ expr }})), ',')
{%- endmacro %}
