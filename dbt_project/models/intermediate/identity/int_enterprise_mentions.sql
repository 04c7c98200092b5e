-- sqlfluff:indentation:template_blocks_indent:False
{{ config(materialized='table', schema='intermediate', tags=['entities']) }}

{#- One row per enterprise role per record, across every staging model that names firms:
    the input of enterprise resolution. Roles follow the generator's truth vocabulary
    ('subject' for a record's main firm; employer, developer, contractor, company, owner,
    maintainer, responsible_unit, applicant where the record says more).

    Each entry names the staging model, the role, an optional filter, and the expression
    for each contract column it has; a missing column is a typed null. District names
    (given or parsed from the address) are mapped to codes through ref_geography.
    Tax records of a firm never given a credit code carry its 15-character legacy taxpayer
    number in uscc (uscc_is_valid false), for resolution to match it to a later code. -#}

{%- set enterprise_mentions = [
    {'model': 'stg_market_supervision__enterprises', 'role': 'subject',
     'cols': {'uscc': 'uscc', 'registration_no': 'registration_no',
              'enterprise_name': 'enterprise_name', 'legal_rep_resident_id': 'legal_rep_resident_id',
              'address': 'address', 'district_code': 'district_code', 'phone': 'phone',
              'event_date': 'established_on'}},
    {'model': 'stg_market_supervision__licences', 'role': 'subject',
     'cols': {'uscc': 'uscc', 'enterprise_name': 'enterprise_name', 'address': 'address',
              'event_date': 'issued_on'}},
    {'model': 'stg_hrss__social_insurance_changes', 'role': 'employer',
     'where': 'employer_uscc is not null or employer_enterprise_name is not null',
     'cols': {'uscc': 'employer_uscc', 'enterprise_name': 'employer_enterprise_name',
              'event_date': 'change_date'}},
    {'model': 'stg_hrss__employment_registrations', 'role': 'employer',
     'where': 'employer_uscc is not null or employer_enterprise_name is not null',
     'cols': {'uscc': 'employer_uscc', 'enterprise_name': 'employer_enterprise_name',
              'event_date': 'event_date'}},
    {'model': 'stg_medical_insurance__enrolments', 'role': 'employer',
     'where': 'employer_uscc is not null or employer_enterprise_name is not null',
     'cols': {'uscc': 'employer_uscc', 'enterprise_name': 'employer_enterprise_name',
              'event_date': 'enrolled_on'}},
    {'model': 'stg_housing_provident_fund__member_accounts', 'role': 'employer',
     'where': 'employer_uscc is not null or employer_enterprise_name is not null',
     'cols': {'uscc': 'employer_uscc', 'enterprise_name': 'employer_enterprise_name',
              'event_date': 'opened_on'}},
    {'model': 'stg_taxation__taxpayers', 'role': 'subject',
     'cols': {'uscc': 'coalesce(uscc, taxpayer_id)', 'uscc_is_valid': 'uscc_is_valid',
              'registration_no': 'registration_no',
              'enterprise_name': 'enterprise_name', 'legal_rep_resident_id': 'legal_rep_resident_id',
              'phone': 'phone', 'event_date': 'registered_on'}},
    {'model': 'stg_taxation__filings', 'role': 'subject',
     'cols': {'uscc': 'taxpayer_id', 'uscc_is_valid': 'uscc_is_valid',
              'enterprise_name': 'enterprise_name', 'phone': 'declarant_phone',
              'event_date': 'filed_on'}},
    {'model': 'stg_culture_tourism__entertainment_permits', 'role': 'subject',
     'cols': {'uscc': 'uscc', 'registration_no': 'registration_no',
              'enterprise_name': 'enterprise_name', 'legal_rep_resident_id': 'legal_rep_resident_id',
              'address': 'address', 'district_name': 'district_name', 'phone': 'phone',
              'event_date': 'issued_on'}},
    {'model': 'stg_ecology_environment__discharge_permits', 'role': 'subject',
     'cols': {'uscc': 'uscc', 'enterprise_name': 'enterprise_name', 'address': 'address',
              'district_name': 'district_name', 'event_date': 'issued_on'}},
    {'model': 'stg_emergency_management__incidents', 'role': 'responsible_unit',
     'where': 'responsible_uscc is not null or responsible_enterprise_name is not null',
     'cols': {'uscc': 'responsible_uscc', 'enterprise_name': 'responsible_enterprise_name',
              'district_code': 'district_code', 'event_date': 'cast(occurred_at as date)'}},
    {'model': 'stg_fire_rescue__inspections', 'role': 'subject',
     'cols': {'uscc': 'uscc', 'registration_no': 'registration_no',
              'enterprise_name': 'enterprise_name', 'address': 'address',
              'district_code': 'district_code', 'event_date': 'inspected_on'}},
    {'model': 'stg_housing_construction__building_permits', 'role': 'developer',
     'cols': {'uscc': 'developer_uscc', 'enterprise_name': 'developer_enterprise_name',
              'event_date': 'issued_on'}},
    {'model': 'stg_housing_construction__building_permits', 'role': 'contractor',
     'cols': {'uscc': 'contractor_uscc', 'enterprise_name': 'contractor_enterprise_name',
              'event_date': 'issued_on'}},
    {'model': 'stg_natural_resources__property_rights', 'role': 'owner',
     'where': "owner_type = '单位'",
     'cols': {'uscc': 'owner_uscc', 'enterprise_name': 'owner_enterprise_name',
              'address': 'location', 'district_code': 'district_code',
              'event_date': 'registered_on'}},
    {'model': 'stg_statistics__enterprise_surveys', 'role': 'subject',
     'cols': {'uscc': 'uscc', 'enterprise_name': 'enterprise_name', 'event_date': 'submitted_on'}},
    {'model': 'stg_transport__taxi_licences', 'role': 'company',
     'cols': {'uscc': 'company_uscc', 'enterprise_name': 'company_enterprise_name',
              'event_date': 'issued_on'}},
    {'model': 'stg_transport__vehicles', 'role': 'owner',
     'where': "owner_type = '单位'",
     'cols': {'uscc': 'owner_uscc', 'enterprise_name': 'owner_enterprise_name',
              'address': 'owner_address', 'phone': 'owner_phone', 'event_date': 'registered_on'}},
    {'model': 'stg_water_resources__abstraction_permits', 'role': 'subject',
     'cols': {'uscc': 'uscc', 'registration_no': 'registration_no',
              'enterprise_name': 'enterprise_name', 'district_code': 'district_code',
              'phone': 'contact_phone', 'event_date': 'issued_on'}},
    {'model': 'stg_urban_management__manhole_covers', 'role': 'owner',
     'cols': {'uscc': 'owner_uscc', 'enterprise_name': 'owner_enterprise_name',
              'district_code': 'district_code', 'event_date': 'installed_on'}},
    {'model': 'stg_urban_management__street_lights', 'role': 'maintainer',
     'where': 'maintainer_uscc is not null or maintainer_enterprise_name is not null',
     'cols': {'uscc': 'maintainer_uscc', 'enterprise_name': 'maintainer_enterprise_name',
              'district_code': 'district_code', 'event_date': 'installed_on'}},
    {'model': 'stg_service_center__applications', 'role': 'applicant',
     'where': "applicant_type = 'enterprise'",
     'cols': {'uscc': 'applicant_uscc', 'enterprise_name': 'applicant_name',
              'event_date': 'cast(submitted_at as date)'}},
] -%}

{%- set string_columns = ['uscc', 'registration_no', 'enterprise_name', 'legal_rep_resident_id',
                          'address', 'district_code', 'district_name', 'phone'] -%}

with

{% for m in enterprise_mentions %}
{{ m.model }}__{{ m.role }} as (

    select
        source_id,
        record_key,
        '{{ m.role }}' as role,  -- noqa: RF04
        {%- for col in string_columns %}
        cast({{ m.cols.get(col, 'null') }} as {{ dbt.type_string() }}) as {{ col }},
        {%- endfor %}
        {{ m.cols.get('uscc_is_valid', m.cols.uscc ~ '_is_valid') }} as uscc_is_valid,
        cast({{ m.cols.get('event_date', 'null') }} as date) as event_date,
        _loaded_at

    from {{ ref(m.model) }}
    {%- if m.where %}
    where {{ m.where }}
    {%- endif %}

),
{% endfor %}

unioned as (
    {% for m in enterprise_mentions %}
    select * from {{ m.model }}__{{ m.role }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

districts as (

    select distinct
        district_code,
        district_name

    from {{ ref('ref_geography') }}

),

-- A district code given outright wins; else its name, given or parsed from the address.
located as (

    select
        unioned.*,
        coalesce(unioned.district_name, {{ address_part('unioned.address', 'district') }})
            as district_name_found

    from unioned

),

coded as (

    select
        located.source_id,
        located.record_key,
        located.role,
        located.uscc,
        located.uscc_is_valid,
        located.registration_no,
        located.enterprise_name,
        located.legal_rep_resident_id,
        located.address,
        coalesce(located.district_code, districts.district_code) as district_code,
        located.phone,
        located.event_date,
        located._loaded_at

    from located
    left join districts
        on located.district_name_found = districts.district_name

),

final as (

    select
        {{ dbt.concat(['source_id', "':'", 'record_key', "':'", 'role']) }} as mention_id,
        source_id,
        record_key,
        role,
        uscc,
        uscc_is_valid,
        registration_no,
        enterprise_name,
        legal_rep_resident_id,
        address,
        district_code,
        phone,
        event_date,
        _loaded_at

    from coded

)

select * from final
