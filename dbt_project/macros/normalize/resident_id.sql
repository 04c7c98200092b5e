{#- Resident identity numbers (GB 11643-1999), the same rules as citylake/identity.py.
    The validators expect an already normalized value: normalize in one CTE, validate
    in the next (the expressions repeat their argument many times). -#}

{#- Trim, full-width to half-width, upper-case a trailing x; null when empty. -#}
{% macro normalize_resident_id(col) -%}
    upper({{ normalize_text(col) }})
{%- endmacro %}

{#- 17 digits + check char (upper-case X), a known province prefix, a real calendar
    birth date in 1900..2099, and check = "10X98765432"[S mod 11] with
    S = sum(digit_i * weight_i). False (never null) for a missing or malformed value. -#}
{% macro resident_id_is_valid(col) -%}
    {%- set weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] -%}
    {%- set provinces = ['11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34',
                         '35', '36', '37', '41', '42', '43', '44', '45', '46', '50', '51', '52',
                         '53', '54', '61', '62', '63', '64', '65', '71', '81', '82', '83'] -%}
    coalesce(
        case
            when not {{ regexp_matches(col, '^[0-9]{17}[0-9X]$') }} then false
            when substring({{ col }}, 1, 2) not in ('{{ provinces | join("', '") }}') then false
            when substring({{ col }}, 7, 2) not in ('19', '20') then false
            when {{ birth_date_from_resident_id(col) }} is null then false
            else substring(
                '10X98765432',
                (
                    {%- for w in weights %}
                    {% if not loop.first %}+ {% endif %}(instr('0123456789', substring({{ col }}, {{ loop.index }}, 1)) - 1) * {{ w }}
                    {%- endfor %}
                ) % 11 + 1,
                1
            ) = substring({{ col }}, 18, 1)
        end,
        false
    )
{%- endmacro %}

{#- Birth date in positions 7-14; null when the value has no 18-char shape or the
    digits are not a calendar date (30 February). -#}
{% macro birth_date_from_resident_id(col) -%}
    case
        when {{ regexp_matches(col, '^[0-9]{17}[0-9Xx]$') }}
            then {{ try_cast_as(dbt.concat([
                "substring(" ~ col ~ ", 7, 4)", "'-'",
                "substring(" ~ col ~ ", 11, 2)", "'-'",
                "substring(" ~ col ~ ", 13, 2)"]), 'date') }}
    end
{%- endmacro %}

{#- 'M' when the sequence (positions 15-17) is odd, 'F' when even; null without an
    18-char shape. -#}
{% macro gender_from_resident_id(col) -%}
    case
        when {{ regexp_matches(col, '^[0-9]{17}[0-9Xx]$') }}
            then case
                when (instr('0123456789', substring({{ col }}, 17, 1)) - 1) % 2 = 1 then 'M'
                else 'F'
            end
    end
{%- endmacro %}
