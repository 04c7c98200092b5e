with

{{ latest_delivery('taxation', 'monthly_filings') }},

renamed as (

    select
        'tax_monthly_filings' as source_id,
        record_key,
        {{ normalize_text('filing_id') }} as filing_id,
        {{ normalize_uscc('taxpayer_id') }} as taxpayer_id,
        {{ normalize_text('taxpayer_name') }} as enterprise_name,
        {{ normalize_text('tax_type') }} as tax_type,
        {{ parse_year_month('tax_period') }} as tax_month,
        {{ parse_mixed_date('filed_on') }} as filed_on,
        {{ parse_amount('taxable_amount') }} as taxable_amount,
        {{ parse_amount('tax_amount') }} as tax_amount,
        {{ normalize_text('tax_office') }} as tax_office,
        {{ normalize_phone('declarant_phone') }} as declarant_phone,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    -- The taxpayer is keyed by its credit code (18 chars) or a pre-2015 legacy code.
    select
        renamed.*,
        case when length(renamed.taxpayer_id) = 18 then renamed.taxpayer_id end as uscc,
        {{ uscc_is_valid('renamed.taxpayer_id') }} as uscc_is_valid

    from renamed

)

select * from validated
