with

{{ latest_delivery('ecology_environment', 'discharge_permits') }},

renamed as (

    select
        'eco_discharge_permits' as source_id,
        record_key,
        {{ normalize_text('permit_no') }} as permit_no,
        {{ normalize_text('unit_name') }} as enterprise_name,
        {{ normalize_uscc('uscc') }} as uscc,
        {{ normalize_person_name('legal_rep_name') }} as legal_rep_name,
        {{ normalize_text('industry') }} as industry,
        {{ normalize_text('address') }} as address,
        {{ normalize_text('district') }} as district_name,
        {{ normalize_text('management_class') }} as management_class,
        {{ normalize_text('main_pollutants') }} as main_pollutants,
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
        {{ uscc_is_valid('uscc') }} as uscc_is_valid,
        {{ name_is_pinyin('legal_rep_name') }} as legal_rep_name_is_pinyin,
        {{ address_part('address', 'district') }} as address_district_name,
        {{ address_part('address', 'street') }} as address_street_name,
        {{ address_part('address', 'community') }} as address_community_name

    from renamed

)

select * from validated
