{#- Every batch landing received (the ledger), with its reconciliation: each row of a
    batch landed, quarantined or held, and how many landed rows carry a flag. Times in the city's wall clock (the ledger keeps UTC). -#}
with

batches as (

    select * from {{ source('quality', 'landing_batches') }}

),

located as (

    select
        *,
        {{ dbt.dateadd('hour', 8, 'started_at') }} as started_local
    from batches

),

dated as (

    -- The day the delivery is about: a dated file's name (rain_2026-09-01.ndjson), else
    -- the day its records' cursor reached, else the day it landed.
    select
        *,
        coalesce(
            cast(nullif(regexp_extract(source_ref, '([0-9]{4}-[0-9]{2}-[0-9]{2})', 1), '') as date),
            cast(nullif(regexp_extract(cursor_hi, '^([0-9]{4}-[0-9]{2}-[0-9]{2})', 1), '') as date),
            cast(started_local as date)
        ) as delivery_day
    from located

)

select
    cast(batch_id as {{ dbt.type_string() }}) as batch_id,
    cast(source_id as {{ dbt.type_string() }}) as source_id,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(rows_received as bigint) as rows_received,
    cast(rows_landed as bigint) as rows_landed,
    cast(rows_quarantined as bigint) as rows_quarantined,
    cast(rows_held as bigint) as rows_held,
    cast(coalesce(rows_flagged, 0) as bigint) as rows_flagged,
    cast(
        rows_received = rows_landed + rows_quarantined + rows_held as boolean
    ) as reconciles,
    cast(
        case
            when rows_received > 0
                then (rows_quarantined + rows_held) * 1.0 / rows_received
        end as double
    ) as failure_rate,
    cast(schema_version as bigint) as schema_version,
    cast(run_id as {{ dbt.type_string() }}) as run_id,
    cast(started_local as timestamp) as landed_at,
    cast(cast(started_local as date) as date) as landed_date,
    cast(delivery_day as timestamp) as delivery_date
from dated
