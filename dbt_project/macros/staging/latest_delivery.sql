{#- The first CTEs of every staging model, driven by the catalog: the source's primary key,
    cursor and key mode (generated into _catalog_sources.sql, and into the source's meta in
    _<group>__sources.yml, by `citylake catalog dbt-sources`) say how to key a record and
    which delivery is latest.

      source           the bronze table (import CTE)
      keyed            + record_key: the primary key as text, normalized (clerk-typed ids)
                       or as delivered (system ids; several key columns joined by '|')
      ranked           + delivery_rank: 1 = the latest delivery of the record, by the
                       catalog cursor (when it has one), then load time, then row in batch
      latest_delivery  one row per record_key

    Use: `with {{ latest_delivery('<group>', '<table>') }}, renamed as (...)`. Cross-database:
    dbt.concat / dbt.type_string and the normalize macros. -#}
{% macro latest_delivery(source_name, table_name) -%}
    {%- set meta = catalog_source_meta(source_name, table_name) -%}
    {%- set keys = meta.get('primary_key', []) -%}
    {%- set cursor = meta.get('cursor') -%}
    {%- set parts = [] -%}
    {%- for key in keys -%}
        {%- if meta.get('key') == 'as_delivered' -%}
            {%- do parts.append('cast(source.' ~ key ~ ' as ' ~ dbt.type_string() ~ ')') -%}
        {%- else -%}
            {%- do parts.append(normalize_text('source.' ~ key)) -%}
        {%- endif -%}
        {%- if not loop.last -%}{%- do parts.append("'|'") -%}{%- endif -%}
    {%- endfor %}
source as (

    select * from {{ source(source_name, table_name) }}

),

keyed as (

    select
        source.*,
        {% if parts | length > 1 %}{{ dbt.concat(parts) }}{% elif parts %}{{ parts[0] }}{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as record_key

    from source

),

ranked as (

    select
        keyed.*,
        row_number() over (
            partition by keyed.record_key
            order by {% if cursor %}keyed.{{ cursor }} desc, {% endif %}keyed._loaded_at desc, keyed._row_number desc
        ) as delivery_rank

    from keyed

),

latest_delivery as (

    select * from ranked
    where delivery_rank = 1

)
{%- endmacro %}


{#- The catalog's declaration of a bronze source (generated: _catalog_sources.sql). -#}
{% macro catalog_source_meta(source_name, table_name) -%}
    {%- set found = catalog_sources().get(source_name ~ '.' ~ table_name) -%}
    {%- if found is none -%}
        {{- exceptions.raise_compiler_error(
              "latest_delivery: the catalog declares no source " ~ source_name ~ "." ~ table_name
              ~ " (its staging block; then run `citylake catalog dbt-sources`)") -}}
    {%- endif -%}
    {{- return(found) -}}
{%- endmacro %}
