/* billing_cycle_scans
   kind: query
   purpose: the fingerprints each billing cycle was last scanned with (its files and the
            eligible-products list): a cycle whose fingerprints changed is scanned again.
   grain: one row per billing_cycle
   parameters: none
   inputs: warehouse.billing_cycle_scans */
select
    billing_cycle,
    files_sha256,
    eligible_products_sha256
from warehouse.billing_cycle_scans
