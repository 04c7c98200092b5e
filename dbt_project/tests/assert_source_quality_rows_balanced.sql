-- Every row received is landed, quarantined or held (the ledger's invariant, per source).
select
    source_id,
    rows_received,
    rows_landed,
    rows_quarantined,
    rows_held
from {{ ref('fct_source_quality') }}
where
    rows_received != rows_landed + rows_quarantined + rows_held
    or landed_batches + held_batches > batches
