with

{{ latest_delivery('service_center', 'appointments') }},

renamed as (

    select
        'svc_appointments' as source_id,
        record_key,
        appointment_id,
        seq,
        center_id,
        {{ normalize_text('center_name') }} as center_name,
        service_category,
        {{ normalize_text('matter_name') }} as matter_name,
        {{ normalize_resident_id('resident_id') }} as resident_id,
        {{ normalize_person_name('name') }} as name,  -- noqa: RF04
        {{ normalize_phone('phone') }} as phone,
        booked_at,
        slot_date,
        slot_start,
        case channel
            when '微信小程序' then 'wechat_mini_program'
            when '浙里办App' then 'mobile_app'
            when '政务服务网' then 'web_portal'
            when '电话' then 'phone'
        end as booking_channel,
        case status
            when '已签到' then 'checked_in'
            when '爽约' then 'no_show'
            when '已取消' then 'cancelled'
        end as status,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ resident_id_is_valid('resident_id') }} as resident_id_is_valid,
        -- The slot as a timestamp: the slot date plus the keyed HH:MM (null when malformed).
        {{ try_cast_as(dbt.concat([
            'cast(slot_date as ' ~ dbt.type_string() ~ ')', "' '", 'slot_start', "':00'"]),
            'timestamp') }} as slot_at

    from renamed

)

select * from validated
