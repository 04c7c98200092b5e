with

{{ latest_delivery('service_center', 'queue_tickets') }},

renamed as (

    select
        'svc_queue_tickets' as source_id,
        record_key,
        ticket_id,
        ticket_seq,
        center_id,
        {{ normalize_text('center_name') }} as center_name,
        service_category,
        {{ normalize_resident_id('resident_id') }} as resident_id,
        issued_at,
        called_at,
        service_start,
        service_end,
        counter_no,
        status,
        _batch_id,
        _loaded_at

    from latest_delivery

),

timed as (

    select
        renamed.*,
        {{ resident_id_is_valid('resident_id') }} as resident_id_is_valid,
        {{ dbt.datediff('issued_at', 'called_at', 'second') }} / 60.0 as wait_minutes,  -- noqa: LT05
        {{ dbt.datediff('service_start', 'service_end', 'second') }} / 60.0 as handle_minutes  -- noqa: LT05

    from renamed

)

select * from timed
