with

{{ latest_delivery('transport', 'taxi_licences') }},

renamed as (

    select
        'tr_taxi_licences' as source_id,
        record_key,
        {{ normalize_text('licence_no') }} as licence_no,
        {{ normalize_person_name('driver_name') }} as driver_name,
        {{ normalize_resident_id('driver_resident_id') }} as driver_resident_id,
        {{ normalize_phone('driver_phone') }} as driver_phone,
        {{ normalize_text('company_name') }} as company_enterprise_name,
        {{ normalize_uscc('company_uscc') }} as company_uscc,
        {{ normalize_text('plate_no') }} as plate_no,
        {{ parse_mixed_date('issued_on') }} as issued_on,
        {{ parse_mixed_date('valid_until') }} as valid_until,
        {{ normalize_text('status') }} as status,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ name_is_pinyin('driver_name') }} as driver_name_is_pinyin,
        {{ resident_id_is_valid('driver_resident_id') }} as driver_resident_id_is_valid,
        {{ uscc_is_valid('company_uscc') }} as company_uscc_is_valid

    from renamed

),

derived as (

    select
        validated.*,
        case
            when validated.driver_resident_id_is_valid
                then {{ birth_date_from_resident_id('validated.driver_resident_id') }}
        end as driver_birth_date,
        case
            when validated.driver_resident_id_is_valid
                then {{ gender_from_resident_id('validated.driver_resident_id') }}
        end as driver_gender

    from validated

)

select * from derived
