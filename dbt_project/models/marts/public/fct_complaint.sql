with

complaints as (

    select * from {{ ref('stg_hotline__complaints') }}

)

select
    cast(complaint_id as varchar) as complaint_id,
    cast(received_at as timestamp) as received_at,
    cast(category as varchar) as category,
    cast(district_code as varchar) as district_code,
    cast(district_name as varchar) as district_name,
    cast(street_code as varchar) as street_code,
    cast(street_name as varchar) as street_name,
    cast(community_code as varchar) as community_code,
    cast(urgency as varchar) as urgency
from complaints
