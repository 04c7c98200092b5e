with

{{ latest_delivery('service_center', 'applications') }},

renamed as (

    select
        'svc_applications' as source_id,
        record_key,
        application_no,
        {{ normalize_text('matter_code') }} as matter_code,
        {{ normalize_text('matter_name') }} as matter_name,
        service_category,
        competent_department,
        case applicant_type when '个人' then 'person' when '企业' then 'enterprise' end
            as applicant_type,
        {{ normalize_person_name('applicant_name') }} as applicant_name,
        {{ normalize_resident_id('applicant_resident_id') }} as applicant_resident_id,
        {{ normalize_uscc('applicant_uscc') }} as applicant_uscc,
        {{ normalize_phone('applicant_phone') }} as applicant_phone,
        nullif(trim(center_id), '') as center_id,
        channel,
        submitted_at,
        one_visit,
        resolved_on_spot,
        case status
            when '已受理' then 'accepted'
            when '审查中' then 'under_review'
            when '已办结' then 'completed'
            when '不予许可' then 'refused'
            when '已撤回' then 'withdrawn'
        end as status,
        promised_days,
        completed_at,
        updated_at,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ resident_id_is_valid('applicant_resident_id') }} as applicant_resident_id_is_valid,
        {{ uscc_is_valid('applicant_uscc') }} as applicant_uscc_is_valid

    from renamed

)

select * from validated
