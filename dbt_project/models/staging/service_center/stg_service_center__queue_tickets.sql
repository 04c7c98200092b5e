with

source as (

    select * from {{ source('service_center', 'queue_tickets') }}

),

latest_delivery as (

    select *
    from source
    qualify row_number() over (partition by ticket_id order by _loaded_at desc, _row_number desc) = 1

),

renamed as (

    select
        ticket_id,
        ticket_seq,
        center_id,
        center_name,
        service_category,
        resident_id,
        issued_at,
        called_at,
        service_start,
        service_end,
        counter_no,
        status,
        _batch_id as batch_id,
        _loaded_at as loaded_at

    from latest_delivery

),

timed as (

    select
        *,
        date_diff('second', issued_at, called_at) / 60.0 as wait_minutes,
        date_diff('second', service_start, service_end) / 60.0 as handle_minutes

    from renamed

)

select * from timed
