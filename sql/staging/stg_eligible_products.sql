/* stg_eligible_products
   kind: model
   purpose: products whose cash spend counts toward referral credit (program FAQ 8).
   grain: one row per (product_code, subscription_type, effective_from_date)
   parameters: none
   inputs: raw_eligible_products
   subscription_type '*' matches both kinds; effective_to is inclusive and null means
   open-ended. A product that is not listed does not count. */
with source as (
    select * from raw_eligible_products
),

renamed as (
    select
        cast(product_code as varchar) as product_code,
        cast(subscription_type as varchar) as subscription_type,
        cast(product_name as varchar) as product_name,
        cast(effective_from as date) as effective_from_date,
        cast(effective_to as date) as effective_to_date
    from source
)

select * from renamed
