-- The probe: how fast the machine is right now, timed just before every benchmark sample
-- (bench/measure.py probe_s, the best of three runs). A hash aggregate of 8M rows into 2M
-- groups on every core, the rows' own kind of work; about 0.35 s on the idle 2-core
-- machine. It reads no file and binds no parameter.
select
    count(*) as group_count,
    sum(s) as total
from (
    select
        hash(i) % 2000000 as k,
        sum(i) as s
    from range(8000000) as t (i)
    group by k
)
