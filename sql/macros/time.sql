/* time
   kind: macro
   purpose: the single place where an input timestamp becomes a UTC instant.
   grain: not applicable (a scalar macro)
   parameters: none
   inputs: none
   Every session runs with TimeZone = 'UTC'. Through TIMESTAMPTZ, text with an offset
   ('2025-03-01T23:30:00-05:00') is read as the instant it names, text without one as UTC,
   a TIMESTAMP column as UTC, and a TIMESTAMPTZ or TIMESTAMPTZ_NS column as its instant (to
   the microsecond); a direct cast to TIMESTAMP would drop the offset (issue 17). Null when
   the value is not a timestamp: the audits reject it. */
create or replace macro utc_timestamp(value) as
cast(try_cast(value as timestamptz) as timestamp);
