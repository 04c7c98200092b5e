with

{{ latest_delivery('health', 'vaccination') }},

renamed as (

    select
        'health_vaccination' as source_id,
        record_key,
        {{ normalize_text('dose_id') }} as dose_id,
        {{ normalize_person_name('person_name') }} as name,  -- noqa: RF04
        {{ normalize_resident_id('resident_id') }} as resident_id,
        {{ parse_mixed_date('birth_date') }} as birth_date,
        {{ normalize_person_name('guardian_name') }} as guardian_name,
        {{ normalize_phone('contact_phone') }} as contact_phone,
        {{ normalize_text('vaccine') }} as vaccine,
        dose_no,
        {{ parse_mixed_date('vaccinated_on') }} as vaccinated_on,
        {{ normalize_text('clinic') }} as clinic,
        {{ normalize_text('community') }} as community_name,
        _batch_id,
        _loaded_at

    from latest_delivery

),

validated as (

    select
        renamed.*,
        {{ name_is_pinyin('name') }} as name_is_pinyin,
        {{ resident_id_is_valid('resident_id') }} as resident_id_is_valid,
        {{ name_is_pinyin('guardian_name') }} as guardian_name_is_pinyin

    from renamed

),

derived as (

    select
        validated.*,
        case
            when validated.resident_id_is_valid
                then {{ gender_from_resident_id('validated.resident_id') }}
        end as gender

    from validated

)

select * from derived
