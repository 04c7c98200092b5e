with

source as (

    select * from {{ source('service_center', 'queue_tickets') }}

),

ranked as (

    select
        source.*,
        row_number() over (
            partition by source.ticket_id
            order by source._loaded_at desc, source._row_number desc
        ) as delivery_rank

    from source

),

latest_delivery as (

    select * from ranked
    where delivery_rank = 1

),

renamed as (

    select
        'svc_queue_tickets' as source_id,
        cast(ticket_id as {{ dbt.type_string() }}) as record_key,
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
