{#- Unified social credit codes (GB 32100-2015), the same rules as citylake/identity.py. -#}

{#- Trim, full-width to half-width, upper case; null when empty. -#}
{% macro normalize_uscc(col) -%}
    upper({{ normalize_text(col) }})
{%- endmacro %}

{#- 18 characters over 0-9A-HJ-NP-RTUW-Y with check character
    alphabet[(31 - sum(value_i * weight_i) mod 31) mod 31]. False (never null) for a
    missing or malformed value; expects a normalized value. -#}
{% macro uscc_is_valid(col) -%}
    {%- set alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY' -%}
    {%- set weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] -%}
    coalesce(
        case
            when not {{ regexp_matches(col, '^[0-9ABCDEFGHJKLMNPQRTUWXY]{18}$') }} then false
            else substring(
                '{{ alphabet }}',
                (
                    31 - (
                        {%- for w in weights %}
                        {% if not loop.first %}+ {% endif %}(instr('{{ alphabet }}', substring({{ col }}, {{ loop.index }}, 1)) - 1) * {{ w }}
                        {%- endfor %}
                    ) % 31
                ) % 31 + 1,
                1
            ) = substring({{ col }}, 18, 1)
        end,
        false
    )
{%- endmacro %}

{#- Legacy 15-digit business registration numbers: trimmed, half-width; null when empty. -#}
{% macro normalize_registration_no(col) -%}
    {{ normalize_text(col) }}
{%- endmacro %}
