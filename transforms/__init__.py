"""Everything below orchestration: small pure modules here (money, months, rules, the input
contract, coupon codes, batch rendering, the instrument engine, the run summary) and, in
transforms/pipeline/, the two pipelines with the edges they share (inputs, warehouse,
output layout, the SQL runner)."""
