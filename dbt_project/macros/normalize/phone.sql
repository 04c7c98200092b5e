{#- Phones to one E.164-like form:
      mobile    '+86' || 11 digits        ('+86 138-1234-5678', '008613812345678', full-width)
      landline  '+86-<area>-<number>'    ('0571-88886666', '(010)62345678'; trunk 0 dropped)
      anything else null.
    citylake/identity.py's normalize_phone keeps mobiles only (they are identities); staging
    keeps landlines too, in their own form, so firms' switchboards stay comparable. -#}
{% macro normalize_phone(col) -%}
    {%- set digits = regexp_replace_all(
        "translate(cast(" ~ col ~ " as " ~ dbt.type_string() ~ "), '０１２３４５６７８９＋', '0123456789+')",
        '[^0-9+]', '') -%}
    {%- set national -%}
        case
            when {{ digits }} like '+86%' then substring({{ digits }}, 4)
            when {{ digits }} like '0086%' then substring({{ digits }}, 5)
            when {{ digits }} like '86%' and length({{ digits }}) = 13 then substring({{ digits }}, 3)
            else {{ digits }}
        end
    {%- endset -%}
    {{ format_national_phone(national) }}
{%- endmacro %}

{#- The national number (digits only, trunk 0 kept) in its international form. Beijing
    (010) and the 02x cities have 2-digit area codes after the trunk 0, the rest 3. -#}
{% macro format_national_phone(national) -%}
    case
        when {{ regexp_matches(national, '^1[3-9][0-9]{9}$') }}
            then {{ dbt.concat(["'+86'", national]) }}
        when {{ regexp_matches(national, '^0(10|2[0-9])[2-9][0-9]{6,7}$') }}
            then {{ dbt.concat(["'+86-'", "substring(" ~ national ~ ", 2, 2)", "'-'",
                                "substring(" ~ national ~ ", 4)"]) }}
        when {{ regexp_matches(national, '^0[3-9][0-9]{2}[2-9][0-9]{6,7}$') }}
            then {{ dbt.concat(["'+86-'", "substring(" ~ national ~ ", 2, 3)", "'-'",
                                "substring(" ~ national ~ ", 5)"]) }}
    end
{%- endmacro %}
