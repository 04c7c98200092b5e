with

{{ latest_delivery('statistics', 'enterprise_survey') }},

renamed as (

    select
        'stats_enterprise_survey' as source_id,
        record_key,
        {{ normalize_text('survey_id') }} as survey_id,
        {{ normalize_uscc('uscc') }} as uscc,
        {{ normalize_text('enterprise_name') }} as enterprise_name,
        {{ normalize_text('industry_code') }} as industry_code,
        {{ parse_year_month('report_period') }} as report_month,
        employees,
        revenue_10k,
        output_value_10k,
        energy_tce,
        {{ normalize_person_name('contact_name') }} as contact_name,
        {{ normalize_phone('contact_phone') }} as contact_phone,
        {{ parse_mixed_date('submitted_on') }} as submitted_on,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ uscc_is_valid('uscc') }} as uscc_is_valid,
        {{ name_is_pinyin('contact_name') }} as contact_name_is_pinyin

    from renamed

)

select * from validated
