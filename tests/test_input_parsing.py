"""Exact parsing of inputs (issue 17, docs/data-contract.md#timestamps-and-amounts): a
timestamp is the instant it names, whatever its physical type, and an amount is never
rounded before the rules round it."""

from datetime import date, datetime

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from transforms.pipeline import sql_runner

REFERRALS = "referrals/referrals.parquet"


@pytest.fixture
def con():
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        sql_runner.run_macros(connection)
        yield connection


@pytest.mark.parametrize(
    ("value", "instant"),
    [
        ("2025-03-31T22:30:00-05:00", datetime(2025, 4, 1, 3, 30)),
        ("2025-04-01 09:00:00+14:00", datetime(2025, 3, 31, 19, 0)),
        ("2025-03-31 22:30:00", datetime(2025, 3, 31, 22, 30)),  # no offset: UTC
        ("2025-03-31", datetime(2025, 3, 31)),
        ("soon", None),  # not a timestamp: the audits reject the row
    ],
)
def test_text_timestamps_are_the_instant_they_name(con, value, instant):
    assert con.execute("select utc_timestamp($v)", {"v": value}).fetchone()[0] == instant


def test_timestamptz_ns_columns_are_instants_to_the_microsecond(con, tmp_path):
    path = tmp_path / "ns.parquet"
    pq.write_table(
        pa.table({"moment": pa.array([1_743_463_800_123_456_789], pa.timestamp("ns", tz="UTC"))}),
        path,
    )
    (found,) = con.execute(
        "select utc_timestamp(moment) from read_parquet($p)", {"p": str(path)}
    ).fetchone()
    assert found == datetime(2025, 3, 31, 23, 30, 0, 123457)


def test_a_registration_with_an_offset_lands_on_its_utc_day(world):
    # 22:30 in New York on March 31 is April 1 in UTC: not a March referral
    world.refer("friend", "referrer", date(2025, 3, 2))
    world.spend("friend", date(2025, 4, 3), "25.00")
    world.write()
    table = pq.read_table(world.data / REFERRALS)
    text = pa.array(["2025-03-31T22:30:00-05:00"], pa.string())
    pq.write_table(
        table.set_column(table.schema.get_field_index("registered_at"), "registered_at", text),
        world.data / REFERRALS,
    )
    world.write = lambda: world.data  # keep the rewritten file
    world.settle("2025-03", "2025-04")
    with duckdb.connect(str(world.out / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select settlement_month, registered_at, registered_date from referee_status order by 1"
        ).fetchall()
    assert rows == [("2025-04", datetime(2025, 4, 1, 3, 30), date(2025, 4, 1))]


def test_an_empty_snapshot_folder_is_no_files_and_an_empty_cycle_no_export(tmp_path):
    from transforms import contracts
    from transforms.errors import InputError
    from transforms.pipeline import inputs

    (tmp_path / "referrals").mkdir()
    with pytest.raises(InputError, match=r"referrals: no referrals Parquet files"):
        inputs.snapshot_files(tmp_path, contracts.REFERRALS)
    (tmp_path / "billing" / "billing_cycle=2025-04").mkdir(parents=True)
    with pytest.raises(InputError, match="no billing export for 2025-04"):
        inputs.billing_cycles(tmp_path, "2025-04")
