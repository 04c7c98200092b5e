with

{{ latest_delivery('service_center', 'kiosk_sessions') }},

renamed as (

    select
        'svc_kiosk_sessions' as source_id,
        record_key,
        session_id,
        kiosk_id,
        center_id,
        started_at,
        ended_at,
        case login_method
            when '身份证' then 'id_card'
            when '刷脸' then 'face'
            when '扫码' then 'qr_code'
            when '未登录' then 'anonymous'
        end as login_method,
        {{ normalize_resident_id('resident_id') }} as resident_id,
        {{ normalize_text('service') }} as service_name,
        pages_viewed,
        case outcome
            when '完成' then 'completed'
            when '放弃' then 'abandoned'
            when '故障' then 'fault'
        end as outcome,
        printed_pages,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ resident_id_is_valid('resident_id') }} as resident_id_is_valid,
        {{ dbt.datediff('started_at', 'ended_at', 'second') }} / 60.0 as session_minutes  -- noqa: LT05

    from renamed

)

select * from validated
