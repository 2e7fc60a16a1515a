"""The warehouse's schema (transforms/pipeline/warehouse_schema.py): a warehouse written by
an earlier version is brought to today's schema on its first connection, and one already
there is recorded by the schema's digest, so that its connections run none of it."""

import duckdb

from transforms.pipeline import sql_runner, warehouse, warehouse_schema
from transforms.pipeline.layout import OutputLayout


def _connect(out):
    return warehouse.connect(OutputLayout(out), read_only=False)


def _tables(con) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where database_name = 'warehouse'"
        ).fetchall()
    }


def _schema_scripts_run(monkeypatch) -> list[str]:
    ran = []
    script = sql_runner.script

    def recording(con, file, *args, **kwargs):
        ran.append(file.name)
        return script(con, file, *args, **kwargs)

    monkeypatch.setattr(sql_runner, "script", recording)
    return ran


def test_a_warehouse_written_before_the_renames_is_upgraded_in_place(tmp_path):
    """Warehouses written before dates were named *_date, and before names stopped carrying
    a rule's number (spend_first_90_days_usd), keep their rows; the columns are renamed on
    the first connection (transforms/pipeline/warehouse_schema.py _upgrade)."""
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as old:
        old.execute(
            "create table referee_status (settlement_month varchar, qualified_on date, "
            "window_ends_on date, spend_first_90_days_usd decimal(18, 4))"
        )
        old.execute(
            "insert into referee_status values ('2025-03', '2025-03-02', '2026-02-28', 45.5)"
        )
    con = warehouse.connect(OutputLayout(tmp_path), read_only=False)
    try:
        rows = con.execute(
            "select settlement_month, qualified_date, window_end_date, bonus_window_spend_usd "
            "from warehouse.referee_status"
        ).fetchall()
    finally:
        con.close()
    assert [tuple(str(v) for v in row) for row in rows] == [
        ("2025-03", "2025-03-02", "2026-02-28", "45.5000")
    ]


def test_a_warehouse_from_before_the_schema_digest_gets_the_tables_it_lacks(tmp_path):
    """A warehouse written before a table was added (and before the digest was kept) gains
    the table, keeps its rows, and records today's digest."""
    with _connect(tmp_path) as con:
        con.execute("insert into warehouse.input_file_digests values ('f', 1, 2, 3, 4, 'ab')")
        con.execute("drop table warehouse.catalog_snapshots")
        con.execute("drop table warehouse.schema_applied")
    with _connect(tmp_path) as con:
        assert {"catalog_snapshots", "schema_applied"} <= _tables(con)
        assert con.execute("select sha256 from warehouse.input_file_digests").fetchall() == [
            ("ab",)
        ]
        assert con.execute("select sha256 from warehouse.schema_applied").fetchall() == [
            (warehouse_schema._schema_sha256(),)
        ]


def test_a_changed_schema_is_applied_to_a_warehouse_at_the_old_digest(tmp_path, monkeypatch):
    """The code's schema changed since the warehouse's last connection (its recorded digest
    is another): the schema runs again, and what it adds is there."""
    with _connect(tmp_path) as con:
        con.execute("drop table warehouse.catalog_snapshots")  # as if added since
        con.execute("update warehouse.schema_applied set sha256 = 'the schema before'")
    ran = _schema_scripts_run(monkeypatch)
    with _connect(tmp_path) as con:
        assert "catalog_snapshots" in _tables(con)
    assert ran.count("warehouse") == 1


def test_a_warehouse_at_todays_schema_runs_no_schema_statement(tmp_path, monkeypatch):
    """Every month opens the warehouse at least twice (settlement, instrument ledger): at
    today's schema, none of its statements run again (about 10 ms a connection)."""
    _connect(tmp_path).close()
    ran = _schema_scripts_run(monkeypatch)
    with _connect(tmp_path) as con:
        con.execute("select count(*) from warehouse.settlements").fetchall()
    assert "warehouse" not in ran
    assert ran  # the connection did run scripts (the macros): the recorder saw them


def test_the_caches_account_ids_are_stored_uncompressed(tmp_path):
    """A full month writes a row per referee account and day of every cycle into the cache
    (sql/schema/warehouse.sql): DuckDB's default string compression of those nearly
    unique ids was 40 % of that insert, so the column is kept uncompressed, and so are the
    rows a later session adds."""
    _connect(tmp_path).close()
    con = _connect(tmp_path)
    try:
        con.execute(
            "insert into warehouse.cycle_eligible_spend select '2025-03', 'acct-' || (i % 500), "
            "date '2025-03-01', 1, 0 from range(200000) as r(i)"
        )
        con.execute("checkpoint warehouse")
        compressions = con.execute(
            "select distinct compression from "
            "pragma_storage_info('warehouse.cycle_eligible_spend') where column_name = 'account_id' "
            "and segment_type = 'VARCHAR'"
        ).fetchall()
    finally:
        con.close()
    assert compressions == [("Uncompressed",)]
