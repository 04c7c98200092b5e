-- sqlfluff:indentation:template_blocks_indent:False
{{ config(materialized='table', schema='intermediate', tags=['entities']) }}

{#- One row per person role per record, across every staging model that names people:
    the input of entity resolution. Roles follow the generator's truth vocabulary
    ('subject' for a record's main person; husband/wife, child, student, applicant and
    agent where the record says more), so mentions can be scored against it.

    Each entry names the staging model, the role, an optional filter, and the expression
    for each contract column it has; a missing column is a typed null. Names are mapped
    to district/street/community codes through ref_geography after the union. -#}

{%- set person_mentions = [
    {'model': 'stg_public_security__household_members', 'role': 'subject',
     'cols': {'resident_id': 'resident_id', 'name': 'name', 'gender': 'gender',
              'birth_date': 'birth_date', 'phone': 'phone', 'address': 'address',
              'district_code': 'district_code', 'street_code': 'street_code',
              'community_code': 'community_code', 'event_date': 'registered_on'}},
    {'model': 'stg_market_supervision__enterprises', 'role': 'legal_rep', 'prefix': 'legal_rep_',
     'cols': {'resident_id': 'legal_rep_resident_id', 'name': 'legal_rep_name',
              'gender': 'legal_rep_gender', 'birth_date': 'legal_rep_birth_date',
              'event_date': 'established_on'}},
    {'model': 'stg_market_supervision__licences', 'role': 'legal_rep',
     'where': 'legal_rep_name is not null',
     'cols': {'name': 'legal_rep_name', 'event_date': 'issued_on'}},
    {'model': 'stg_hrss__social_insurance_changes', 'role': 'subject',
     'cols': {'resident_id': 'resident_id', 'name': 'name', 'gender': 'gender',
              'birth_date': 'birth_date', 'phone': 'phone', 'event_date': 'change_date'}},
    {'model': 'stg_hrss__employment_registrations', 'role': 'subject',
     'cols': {'resident_id': 'resident_id', 'name': 'name', 'gender': 'gender',
              'birth_date': 'birth_date', 'phone': 'phone', 'event_date': 'event_date'}},
    {'model': 'stg_medical_insurance__enrolments', 'role': 'subject',
     'cols': {'resident_id': 'resident_id', 'name': 'name', 'gender': 'gender',
              'birth_date': 'birth_date', 'phone': 'phone', 'community_name': 'community_name',
              'event_date': 'enrolled_on'}},
    {'model': 'stg_taxation__taxpayers', 'role': 'legal_rep',
     'where': 'legal_rep_name is not null or legal_rep_resident_id is not null',
     'cols': {'resident_id': 'legal_rep_resident_id', 'name': 'legal_rep_name',
              'gender': 'legal_rep_gender', 'birth_date': 'legal_rep_birth_date',
              'event_date': 'registered_on'}},
    {'model': 'stg_civil_affairs__marriage_registrations', 'role': 'husband',
     'cols': {'resident_id': 'male_resident_id', 'name': 'male_name', 'gender': "'M'",
              'birth_date': 'male_birth_date',
              'phone': 'male_phone', 'event_date': 'registered_on'}},
    {'model': 'stg_civil_affairs__marriage_registrations', 'role': 'wife',
     'cols': {'resident_id': 'female_resident_id', 'name': 'female_name', 'gender': "'F'",
              'birth_date': 'female_birth_date',
              'phone': 'female_phone', 'event_date': 'registered_on'}},
    {'model': 'stg_civil_affairs__social_assistance_cases', 'role': 'applicant',
     'cols': {'resident_id': 'resident_id', 'name': 'name', 'gender': 'gender',
              'birth_date': 'birth_date', 'phone': 'phone', 'address': 'address',
              'district_name': 'coalesce(district_name, address_district_name)',
              'street_name': 'coalesce(street_name, address_street_name)',
              'community_name': 'coalesce(community_name, address_community_name)',
              'event_date': 'approved_on'}},
    {'model': 'stg_culture_tourism__entertainment_permits', 'role': 'legal_rep',
     'where': 'legal_rep_name is not null or legal_rep_resident_id is not null',
     'cols': {'resident_id': 'legal_rep_resident_id', 'name': 'legal_rep_name',
              'gender': 'legal_rep_gender', 'birth_date': 'legal_rep_birth_date',
              'event_date': 'issued_on'}},
    {'model': 'stg_disabled_persons__disability_cards', 'role': 'subject',
     'cols': {'resident_id': 'resident_id', 'name': 'name', 'gender': 'gender',
              'birth_date': 'birth_date', 'address': 'address',
              'phone': 'case when guardian_name is null then contact_phone end',
              'community_code': 'community_code', 'event_date': 'issued_on'}},
    {'model': 'stg_disabled_persons__disability_cards', 'role': 'guardian',
     'where': 'guardian_name is not null',
     'cols': {'name': 'guardian_name', 'phone': 'contact_phone', 'event_date': 'issued_on'}},
    {'model': 'stg_education__student_enrolments', 'role': 'student',
     'cols': {'resident_id': 'resident_id', 'name': 'name', 'gender': 'gender',
              'birth_date': 'birth_date', 'address': 'address', 'event_date': 'enrolled_on'}},
    {'model': 'stg_education__student_enrolments', 'role': 'guardian',
     'where': 'guardian_name is not null or guardian_resident_id is not null',
     'cols': {'resident_id': 'guardian_resident_id', 'name': 'guardian_name',
              'gender': 'guardian_gender', 'birth_date': 'guardian_birth_date',
              'phone': 'guardian_phone', 'address': 'address', 'event_date': 'enrolled_on'}},
    {'model': 'stg_emergency_management__incidents', 'role': 'reporter',
     'where': 'reporter_name is not null or reporter_resident_id is not null or reporter_phone is not null',
     'cols': {'resident_id': 'reporter_resident_id', 'name': 'reporter_name',
              'gender': 'reporter_gender', 'birth_date': 'reporter_birth_date',
              'phone': 'reporter_phone', 'event_date': 'cast(occurred_at as date)'}},
    {'model': 'stg_fire_rescue__inspections', 'role': 'contact',
     'where': 'contact_name is not null or contact_phone is not null',
     'cols': {'name': 'contact_name', 'phone': 'contact_phone', 'event_date': 'inspected_on'}},
    {'model': 'stg_housing_construction__building_permits', 'role': 'project_manager',
     'where': 'project_manager_name is not null or project_manager_resident_id is not null',
     'cols': {'resident_id': 'project_manager_resident_id', 'name': 'project_manager_name',
              'gender': 'project_manager_gender', 'birth_date': 'project_manager_birth_date',
              'phone': 'project_manager_phone', 'event_date': 'issued_on'}},
    {'model': 'stg_health__birth_certificates', 'role': 'child',
     'cols': {'name': 'name', 'gender': 'gender', 'birth_date': 'birth_date',
              'event_date': 'issued_on'}},
    {'model': 'stg_health__birth_certificates', 'role': 'mother',
     'cols': {'resident_id': 'mother_resident_id', 'name': 'mother_name', 'gender': "'F'",
              'birth_date': 'mother_birth_date', 'event_date': 'issued_on'}},
    {'model': 'stg_health__birth_certificates', 'role': 'father',
     'where': 'father_name is not null or father_resident_id is not null',
     'cols': {'resident_id': 'father_resident_id', 'name': 'father_name', 'gender': "'M'",
              'birth_date': 'father_birth_date', 'event_date': 'issued_on'}},
    {'model': 'stg_health__vaccination_doses', 'role': 'subject',
     'cols': {'resident_id': 'resident_id', 'name': 'name', 'gender': 'gender',
              'birth_date': 'birth_date',
              'phone': 'case when guardian_name is null then contact_phone end',
              'community_name': 'community_name', 'event_date': 'vaccinated_on'}},
    {'model': 'stg_health__vaccination_doses', 'role': 'guardian',
     'where': 'guardian_name is not null',
     'cols': {'name': 'guardian_name', 'phone': 'contact_phone',
              'community_name': 'community_name', 'event_date': 'vaccinated_on'}},
    {'model': 'stg_housing_provident_fund__member_accounts', 'role': 'subject',
     'cols': {'resident_id': 'resident_id', 'name': 'name', 'gender': 'gender',
              'birth_date': 'birth_date', 'phone': 'phone', 'event_date': 'opened_on'}},
    {'model': 'stg_natural_resources__property_rights', 'role': 'owner',
     'where': "owner_type = '个人'",
     'cols': {'resident_id': 'owner_resident_id', 'name': 'owner_name',
              'gender': 'owner_gender', 'birth_date': 'owner_birth_date',
              'address': 'location', 'district_code': 'district_code',
              'street_code': 'street_code', 'community_code': 'community_code',
              'event_date': 'registered_on'}},
    {'model': 'stg_natural_resources__property_rights', 'role': 'co_owner',
     'where': 'co_owner_name is not null or co_owner_resident_id is not null',
     'cols': {'resident_id': 'co_owner_resident_id', 'name': 'co_owner_name',
              'gender': 'co_owner_gender', 'birth_date': 'co_owner_birth_date',
              'address': 'location', 'district_code': 'district_code',
              'street_code': 'street_code', 'community_code': 'community_code',
              'event_date': 'registered_on'}},
    {'model': 'stg_statistics__enterprise_surveys', 'role': 'contact',
     'where': 'contact_name is not null or contact_phone is not null',
     'cols': {'name': 'contact_name', 'phone': 'contact_phone', 'event_date': 'submitted_on'}},
    {'model': 'stg_transport__taxi_licences', 'role': 'driver',
     'cols': {'resident_id': 'driver_resident_id', 'name': 'driver_name',
              'gender': 'driver_gender', 'birth_date': 'driver_birth_date',
              'phone': 'driver_phone', 'event_date': 'issued_on'}},
    {'model': 'stg_transport__vehicles', 'role': 'owner',
     'where': "owner_type = '个人'",
     'cols': {'resident_id': 'owner_resident_id', 'name': 'owner_name',
              'gender': 'owner_gender', 'birth_date': 'owner_birth_date',
              'phone': 'owner_phone', 'address': 'owner_address', 'event_date': 'registered_on'}},
    {'model': 'stg_service_center__applications', 'role': 'applicant',
     'where': "applicant_type = 'person'",
     'cols': {'resident_id': 'applicant_resident_id', 'name': 'applicant_name',
              'phone': 'applicant_phone', 'event_date': 'cast(submitted_at as date)'}},
    {'model': 'stg_service_center__applications', 'role': 'agent',
     'where': "applicant_type = 'enterprise' and applicant_resident_id is not null",
     'cols': {'resident_id': 'applicant_resident_id', 'phone': 'applicant_phone',
              'event_date': 'cast(submitted_at as date)'}},
    {'model': 'stg_service_center__appointments', 'role': 'subject',
     'cols': {'resident_id': 'resident_id', 'name': 'name', 'phone': 'phone',
              'event_date': 'slot_date'}},
    {'model': 'stg_service_center__queue_tickets', 'role': 'subject',
     'where': 'resident_id is not null',
     'cols': {'resident_id': 'resident_id', 'event_date': 'cast(issued_at as date)'}},
    {'model': 'stg_service_center__kiosk_sessions', 'role': 'subject',
     'where': 'resident_id is not null',
     'cols': {'resident_id': 'resident_id', 'event_date': 'cast(started_at as date)'}},
] -%}

{%- set string_columns = ['resident_id', 'name', 'gender', 'phone', 'address', 'district_code',
                          'street_code', 'community_code', 'district_name', 'street_name',
                          'community_name'] -%}

with

{% for m in person_mentions %}
{{ m.model }}__{{ m.role }} as (

    select
        source_id,
        record_key,
        '{{ m.role }}' as role,  -- noqa: RF04
        {%- for col in string_columns %}
        cast({{ m.cols.get(col, 'null') }} as {{ dbt.type_string() }}) as {{ col }},
        {%- endfor %}
        {%- if 'resident_id' in m.cols %}
        {{ m.cols.resident_id }}_is_valid as resident_id_is_valid,
        {%- else %}
        false as resident_id_is_valid,
        {%- endif %}
        cast({{ m.cols.get('birth_date', 'null') }} as date) as birth_date,
        cast({{ m.cols.get('event_date', 'null') }} as date) as event_date,
        _loaded_at

    from {{ ref(m.model) }}
    {%- if m.where %}
    where {{ m.where }}
    {%- endif %}

),
{% endfor %}

unioned as (
    {% for m in person_mentions %}
    select * from {{ m.model }}__{{ m.role }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

geography as (

    select * from {{ ref('ref_geography') }}

),

districts as (

    select distinct
        district_code,
        district_name

    from geography

),

streets as (

    select distinct
        street_code,
        street_name,
        district_code

    from geography

),

-- A name given outright wins; else the name parsed from the address.
located as (

    select
        unioned.*,
        coalesce(unioned.district_name, {{ address_part('unioned.address', 'district') }})
            as district_name_found,
        coalesce(unioned.street_name, {{ address_part('unioned.address', 'street') }})
            as street_name_found,
        coalesce(unioned.community_name, {{ address_part('unioned.address', 'community') }})
            as community_name_found

    from unioned

),

coded as (

    select
        located.source_id,
        located.record_key,
        located.role,
        located.resident_id,
        located.resident_id_is_valid,
        located.name,
        located.birth_date,
        located.gender,
        located.phone,
        located.address,
        coalesce(
            located.district_code,
            communities.district_code,
            streets.district_code,
            districts.district_code
        ) as district_code,
        coalesce(located.street_code, communities.street_code, streets.street_code)
            as street_code,
        coalesce(located.community_code, communities.community_code) as community_code,
        located.event_date,
        located._loaded_at

    from located
    left join geography as communities
        on located.community_name_found = communities.community_name
    left join streets
        on located.street_name_found = streets.street_name
    left join districts
        on located.district_name_found = districts.district_name

),

final as (

    select
        {{ dbt.concat(['source_id', "':'", 'record_key', "':'", 'role']) }} as mention_id,
        source_id,
        record_key,
        role,
        resident_id,
        resident_id_is_valid,
        name,
        coalesce({{ name_is_pinyin('name') }}, false) as name_is_pinyin,
        gender,
        birth_date,
        phone,
        address,
        district_code,
        street_code,
        community_code,
        event_date,
        _loaded_at

    from coded

)

select * from final
