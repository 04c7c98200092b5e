-- One row per catalog source: freshness and failure rates (computed from the ingest ledger
-- by citylake/landing/quality_summary.py; this mart types and publishes them).
select
    cast(source_id as varchar) as source_id,
    cast(department as varchar) as department,
    cast(source_kind as varchar) as source_kind,
    cast(connector as varchar) as connector,
    cast(cadence as varchar) as cadence,
    cast(expected_interval_minutes as double) as expected_interval_minutes,
    cast(last_landed_at as timestamp) as last_landed_at,
    cast(last_batch_at as timestamp) as last_batch_at,
    cast(age_minutes as double) as age_minutes,
    cast(freshness as varchar) as freshness,
    cast(batches as bigint) as batches,
    cast(landed_batches as bigint) as landed_batches,
    cast(held_batches as bigint) as held_batches,
    cast(rows_received as bigint) as rows_received,
    cast(rows_landed as bigint) as rows_landed,
    cast(rows_quarantined as bigint) as rows_quarantined,
    cast(rows_held as bigint) as rows_held,
    cast(failure_rate as double) as failure_rate,
    cast(recent_batches as bigint) as recent_batches,
    cast(recent_rows_received as bigint) as recent_rows_received,
    cast(recent_failure_rate as double) as recent_failure_rate,
    cast(last_status as varchar) as last_status,
    cast(last_error as varchar) as last_error,
    cast(last_error_at as timestamp) as last_error_at,
    cast(as_of as timestamp) as as_of
from {{ source('quality', 'source_summary') }}
