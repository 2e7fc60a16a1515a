/* raw_billing_repeated_hashes
   purpose: the 64-bit hashes of record ids that occur more than once in one billing cycle:
            a superset of the repeated records (two ids may share a hash), found cheaply.
            raw_billing_repeats then checks the candidates exactly.
   kind: model
   grain: one row per (billing_cycle, record_hash)
   parameters: $billing_cycle (run once per scanned cycle: one cycle's ids at a time keeps
               the hash table small, so memory does not grow with the history)
   inputs: raw_billing_lines */
select
    $billing_cycle as billing_cycle,
    hash(record_id) as record_hash
from raw_billing_lines
where billing_cycle = $billing_cycle and record_id is not null
group by hash(record_id)
having count(*) > 1
