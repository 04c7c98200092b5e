{#- Text normalization shared by every staging model. -#}

{#- Trim, full-width ASCII and ideographic space to half-width, inner runs of spaces
    collapsed to one, empty to null. Accepts any type (cast to string first). -#}
{% macro normalize_text(col) -%}
    nullif(
        trim(
            {{ regexp_replace_all(
                "translate(cast(" ~ col ~ " as " ~ dbt.type_string() ~ "), '"
                    ~ fullwidth_characters() ~ "', '" ~ halfwidth_characters() ~ "')",
                ' +', ' ') }}
        ),
        ''
    )
{%- endmacro %}

{#- Traditional to simplified Chinese, character by character (OpenCC's TSCharacters
    table, frozen by dbt_project/scripts/generate_t2s_macro.py). -#}
{% macro to_simplified(col) -%}
    {#- translate() with a 3,000-character table costs DuckDB ~2 ms a row (it rebuilds the
        map per call); a regex character class is compiled once. Most names hold no
        traditional character, so translate only those that do. -#}
    case
        when {{ regexp_matches(col, '[' ~ t2s_traditional_characters() ~ ']') }}
            then translate({{ col }}, '{{ t2s_traditional_characters() }}', '{{ t2s_simplified_characters() }}')
        else {{ col }}
    end
{%- endmacro %}

{#- A person's name as one vocabulary: normalized text, simplified characters, and no
    spaces between Chinese characters ("张 伟" -> "张伟"); romanized names keep theirs. -#}
{% macro normalize_person_name(col) -%}
    {%- set text = normalize_text(col) -%}
    case
        when {{ name_is_pinyin(text) }} then {{ text }}
        else {{ to_simplified("replace(" ~ text ~ ", ' ', '')") }}
    end
{%- endmacro %}

{#- True for a romanized name (Latin letters and spaces), e.g. "Zhang Wei". -#}
{% macro name_is_pinyin(col) -%}
    {{ regexp_matches(col, '^[A-Za-z][A-Za-z ]*$') }}
{%- endmacro %}

{#- 男/女 (GB/T 2261.1 codes 1/2 too) to 'M'/'F'; anything else null. -#}
{% macro normalize_gender(col) -%}
    case {{ normalize_text(col) }}
        when '男' then 'M'
        when '1' then 'M'
        when 'M' then 'M'
        when '女' then 'F'
        when '2' then 'F'
        when 'F' then 'F'
    end
{%- endmacro %}
