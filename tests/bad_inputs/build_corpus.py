"""Build the committed corpus of bad inputs (python -m tests.bad_inputs.build_corpus).

Each kind is a tiny dataset: the good base (billing cycles 2025-03 and 2025-04, a few
referrals and accounts) with one defect, plus expected.json (exit code and the message the
one error line must contain). tests/test_bad_inputs.py settles 2025-04 on each after 2025-03
was published from the base, and checks that nothing is published or lost.
"""

import json
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tests.world import World

CORPUS = Path(__file__).resolve().parent
APRIL = Path("billing/billing_cycle=2025-04/part-0.parquet")
REFERRALS = Path("referrals/referrals.parquet")
ACCOUNTS = Path("accounts/accounts.parquet")


def build_base(root: Path) -> Path:
    world = World(root, first_cycle="2025-03", last_cycle="2025-04")
    world.refer("friend-1", "referrer-1", date(2025, 3, 1))
    world.refer("friend-2", "referrer-1", date(2025, 3, 2))
    world.refer("friend-3", "referrer-2", date(2025, 3, 3))
    world.spend("friend-1", date(2025, 3, 4), "30.00")
    world.spend("friend-2", date(2025, 3, 5), "12.00")
    world.spend("friend-2", date(2025, 4, 6), "12.00")
    world.spend("friend-3", date(2025, 4, 7), "55.00", product="oss", kind="Subscription")
    world.spend("friend-3", date(2025, 4, 8), "-5.00")
    return world.write()


def _table(data: Path, relative: Path) -> pa.Table:
    return pq.read_table(data / relative)


def _write(data: Path, relative: Path, table: pa.Table) -> None:
    pq.write_table(table, data / relative)


def _set_cell(data, relative, column, row, value, type_=None):
    table = _table(data, relative)
    values = table.column(column).to_pylist()
    values[row] = value
    field = table.schema.field(column)
    array = pa.array(values, type=type_ or field.type)
    index = table.schema.get_field_index(column)
    _write(data, relative, table.set_column(index, pa.field(column, array.type), array))


def _drop_column(data, relative, column):
    _write(data, relative, _table(data, relative).drop_columns([column]))


def _retype(data, relative, column, values, type_):
    table = _table(data, relative)
    index = table.schema.get_field_index(column)
    _write(
        data, relative, table.set_column(index, pa.field(column, type_), pa.array(values, type_))
    )


def _append_copy(data, relative, row, changes):
    table = _table(data, relative)
    extra = table.slice(row, 1).to_pylist()[0] | changes
    _write(data, relative, pa.concat_tables([table, pa.Table.from_pylist([extra], table.schema)]))


CATALOG = Path("vouchers/catalog/catalog.parquet")
EVENTS = Path("vouchers/events/events-0.parquet")
USAGE = Path("coupon_usage/usage.parquet")
GOOD_VOUCHER = {
    "voucher_id": "V1",
    "product_config": "ecs.g7.large/1 month",
    "face_value": Decimal("100.00"),
    "purchased_by": "referrer-1",
    "purchase_channel": "tmall",
    "discounted": False,
    "max_transfers": 2,
    "valid_from": date(2025, 4, 1),
    "valid_to": date(2025, 6, 30),
    "purchased_at": datetime(2025, 3, 20, tzinfo=UTC),
}
GOOD_EVENT = {
    "event_id": "e1",
    "voucher_id": "V1",
    "event_type": "redeem",
    "actor_account_id": "referrer-1",
    "to_account_id": None,
    "occurred_at": datetime(2025, 4, 10, tzinfo=UTC),
}
GOOD_USAGE = {
    "usage_id": "u1",
    "account_id": "referrer-1",
    "coupon_month": "2025-03",
    "used_amount": Decimal("5.00"),
    "used_at": datetime(2025, 4, 10, tzinfo=UTC),
    "product_code": "ecs",
    "coupon_owner_account_id": None,
}


def _append_rows(data, relative, *rows):
    """Rows added to an input file (the base's instrument files are empty), in its schema."""
    table = _table(data, relative)
    _write(
        data, relative, pa.concat_tables([table, pa.Table.from_pylist(list(rows), table.schema)])
    )


def _bad_voucher(**changes):
    return lambda d: _append_rows(d, CATALOG, GOOD_VOUCHER | changes)


def _bad_event(**changes):
    return lambda d: (
        _append_rows(d, CATALOG, GOOD_VOUCHER),
        _append_rows(d, EVENTS, GOOD_EVENT | changes),
    )


def _bad_usage(**changes):
    return lambda d: _append_rows(d, USAGE, GOOD_USAGE | changes)


def _text_cell(relative, row_of, column, text):
    """A column rewritten as text (the contract accepts text dates, times and amounts) with
    one unreadable value at the row `row_of(data)` names."""

    def mutate(data):
        values = _table(data, relative).column(column).to_pylist()
        row = row_of(data)
        texts = [
            text if i == row else (v.isoformat() if hasattr(v, "isoformat") else str(v))
            for i, v in enumerate(values)
        ]
        _retype(data, relative, column, texts, pa.string())

    return mutate


def _with_text_time(relative, good, column, text, *before):
    """One instrument input row whose time column is unreadable text (after the rows it
    needs, `before`, e.g. the voucher an event names)."""

    def mutate(data):
        for needed_relative, needed in before:
            _append_rows(data, needed_relative, needed)
        schema = _table(data, relative).schema
        index = schema.get_field_index(column)
        schema = schema.set(index, pa.field(column, pa.string()))
        _write(data, relative, pa.Table.from_pylist([good | {column: text}], schema))

    return mutate


def _first_referee_line(data) -> int:
    table = _table(data, APRIL)
    return pc.index(table.column("account_id"), "friend-2").as_py()


# kind -> (mutation, exit code, message fragment of the one error line)
KINDS = {
    "missing_billing_folder": (lambda d: shutil.rmtree(d / "billing"), 3, "missing billing folder"),
    "missing_month_cycle": (
        lambda d: shutil.rmtree(d / APRIL.parent),
        3,
        "no billing export for 2025-04",
    ),
    "empty_month_cycle": (
        lambda d: _write(d, APRIL, _table(d, APRIL).slice(0, 0)),
        3,
        "the billing export for 2025-04 is empty",
    ),
    "unknown_cycle_folder": (
        # a file inside, so that git keeps the folder
        lambda d: shutil.copytree(d / APRIL.parent, d / "billing" / "billing_cycle=2025-4"),
        3,
        "unknown billing folder name",
    ),
    # every entry of a delivery folder is read or refused (issue 29): a writer's part folder,
    # a symlink to nothing, a stray file; never skipped
    "part_folder_named_like_a_file": (
        lambda d: shutil.copytree(d / APRIL.parent, d / APRIL.parent / "part-0b.parquet"),
        3,
        "part-0b.parquet: a folder inside a delivery folder",
    ),
    "part_folder_in_a_settled_cycle": (
        # March was published from the base: its cycle is judged again, not trusted
        lambda d: shutil.copytree(
            d / "billing" / "billing_cycle=2025-03",
            d / "billing" / "billing_cycle=2025-03" / "part-0b.parquet",
        ),
        3,
        "billing_cycle=2025-03/part-0b.parquet: a folder inside a delivery folder",
    ),
    "dangling_symlink_in_a_cycle": (
        lambda d: (d / APRIL.parent / "part-1.parquet").symlink_to("gone.parquet"),
        3,
        "part-1.parquet: a symlink that leads nowhere",
    ),
    "stray_file_in_a_cycle": (
        lambda d: (d / APRIL.parent / "_SUCCESS").write_text(""),
        3,
        "_SUCCESS: not a Parquet file",
    ),
    "duplicated_cash_amount_column": (
        lambda d: _write(
            d,
            APRIL,
            _table(d, APRIL).append_column("cash_amount", _table(d, APRIL).column("cash_amount")),
        ),
        3,
        "column cash_amount appears more than once",
    ),
    "garbage_parquet": (
        lambda d: (d / APRIL).write_bytes(b"this is not a parquet file" * 10),
        3,
        "unreadable Parquet file",
    ),
    "truncated_parquet": (
        lambda d: (d / APRIL).write_bytes((d / APRIL).read_bytes()[:300]),
        3,
        "unreadable Parquet file",
    ),
    "billing_missing_column": (
        lambda d: _drop_column(d, APRIL, "cash_amount"),
        3,
        "missing required column(s) cash_amount",
    ),
    "billing_wrong_type": (
        lambda d: _retype(d, APRIL, "billing_date", [True] * _table(d, APRIL).num_rows, pa.bool_()),
        3,
        "column billing_date: expected a date, found BOOLEAN",
    ),
    "referrals_missing_column": (
        lambda d: _drop_column(d, REFERRALS, "registered_at"),
        3,
        "missing required column(s) registered_at",
    ),
    "accounts_wrong_type": (
        lambda d: _retype(
            d, ACCOUNTS, "verified_at", [True] * _table(d, ACCOUNTS).num_rows, pa.bool_()
        ),
        3,
        "column verified_at: expected a timestamp, found BOOLEAN",
    ),
    "missing_referrals": (
        # the folder holds a note instead of the file: the note is an entry no rule reads
        # (an empty folder, which git cannot keep, is tests/test_input_parsing.py's)
        lambda d: (
            (d / REFERRALS).unlink(),
            (d / REFERRALS).with_name("README.txt").write_text("the export forgot the file\n"),
        ),
        3,
        "README.txt: not a Parquet file",
    ),
    "missing_accounts_folder": (
        lambda d: shutil.rmtree(d / "accounts"),
        3,
        "missing accounts folder",
    ),
    "null_record_id": (
        lambda d: _set_cell(d, APRIL, "record_id", _first_referee_line(d), None),
        3,
        "record_id is null",
    ),
    "null_account_id": (
        lambda d: _set_cell(d, APRIL, "account_id", _first_referee_line(d), None),
        3,
        "account_id is null",
    ),
    "null_cash_amount": (
        lambda d: _set_cell(d, APRIL, "cash_amount", _first_referee_line(d), None),
        3,
        "cash_amount is null",
    ),
    "conflicting_record": (
        lambda d: _append_copy(d, APRIL, _first_referee_line(d), {"cash_amount": 99}),
        3,
        "record_id delivered twice with different content",
    ),
    "date_outside_cycle": (
        lambda d: _set_cell(d, APRIL, "billing_date", _first_referee_line(d), date(2025, 5, 2)),
        3,
        "billing_date outside its billing_cycle folder",
    ),
    "unknown_subscription_type": (
        lambda d: _set_cell(d, APRIL, "subscription_type", _first_referee_line(d), "Lifetime"),
        3,
        "unknown subscription_type",
    ),
    "unknown_item": (
        lambda d: _set_cell(d, APRIL, "item", _first_referee_line(d), "Gift"),
        3,
        "unknown item",
    ),
    "non_usd_currency": (
        lambda d: _set_cell(d, APRIL, "currency", _first_referee_line(d), "EUR"),
        3,
        "currency is not USD",
    ),
    "non_numeric_amount": (
        lambda d: _retype(
            d,
            APRIL,
            "cash_amount",
            [
                "abc" if i == _first_referee_line(d) else str(v)
                for i, v in enumerate(_table(d, APRIL).column("cash_amount").to_pylist())
            ],
            pa.string(),
        ),
        3,
        "cash_amount is not a number",
    ),
    "absurd_amount": (
        lambda d: _set_cell(d, APRIL, "cash_amount", _first_referee_line(d), 5_000_000_000),
        3,
        "cash_amount beyond the configured bound (max_abs_line_amount_usd)",
    ),
    "unparseable_date_text": (
        lambda d: _retype(
            d,
            APRIL,
            "billing_date",
            [
                "yesterday" if i == _first_referee_line(d) else v.isoformat()
                for i, v in enumerate(_table(d, APRIL).column("billing_date").to_pylist())
            ],
            pa.string(),
        ),
        3,
        "billing_date is not a date",
    ),
    "original_record_id_with_space": (
        lambda d: _set_cell(d, APRIL, "original_record_id", _first_referee_line(d), "rec 1"),
        3,
        "original_record_id does not match the id pattern",
    ),
    "referral_null_referrer": (
        lambda d: _append_copy(d, REFERRALS, 2, {"referrer_account_id": None}),
        3,
        "referrer_account_id is null",
    ),
    "billing_date_null": (
        lambda d: _set_cell(d, APRIL, "billing_date", _first_referee_line(d), None),
        3,
        "billing_date is null",
    ),
    "pretax_amount_not_a_number": (
        _text_cell(APRIL, _first_referee_line, "pretax_amount", "n/a"),
        3,
        "a pretax or deducted amount is not a number",
    ),
    "registered_at_not_a_timestamp": (
        _text_cell(REFERRALS, lambda d: 1, "registered_at", "last tuesday"),
        3,
        "registered_at is not a timestamp",
    ),
    "referral_null_registered_at": (
        lambda d: _set_cell(d, REFERRALS, "registered_at", 1, None),
        3,
        "registered_at is null",
    ),
    "referral_same_account": (
        # added rows: changing a listed referral would be a lost one (lost_referrals)
        lambda d: _append_copy(d, REFERRALS, 1, {"referrer_account_id": "friend-2"}),
        3,
        "referee and referrer are the same account",
    ),
    "referral_null_referee": (
        lambda d: _append_copy(d, REFERRALS, 2, {"referee_account_id": None}),
        3,
        "referee_account_id is null",
    ),
    "account_conflict": (
        lambda d: _append_copy(d, ACCOUNTS, 0, {"risk_status": "fraud"}),
        3,
        "account listed twice with different content",
    ),
    "unknown_risk_status": (
        lambda d: _set_cell(d, ACCOUNTS, "risk_status", 0, "suspicious"),
        3,
        "unknown risk_status",
    ),
    "null_identity_key": (
        lambda d: _set_cell(d, ACCOUNTS, "identity_key", 0, None),
        3,
        "identity_key is null",
    ),
    "verified_in_the_future": (
        # the newest delivered cycle is 2025-04: a verification after it cannot be known yet
        lambda d: _set_cell(d, ACCOUNTS, "verified_at", 0, datetime(2025, 5, 1, tzinfo=UTC)),
        3,
        "verified_at after the newest delivered billing cycle",
    ),
    "verified_at_not_a_timestamp": (
        lambda d: _retype(
            d, ACCOUNTS, "verified_at", ["soon"] * _table(d, ACCOUNTS).num_rows, pa.string()
        ),
        3,
        "verified_at is not a timestamp",
    ),
}

# instrument inputs (issue 13): `creditflow instruments --month 2025-04` runs on these
INSTRUMENT_KINDS = {
    "voucher_null_id": (_bad_voucher(voucher_id=None), 3, "voucher_id is null"),
    "voucher_unknown_channel": (
        _bad_voucher(purchase_channel="gift_shop"),
        3,
        "purchase_channel is not one of official, tmall, special",
    ),
    "voucher_three_transfers": (
        _bad_voucher(max_transfers=3),
        3,
        "max_transfers is not 0, 1 or 2",
    ),
    "voucher_ends_before_it_starts": (
        _bad_voucher(valid_to=date(2025, 3, 31)),
        3,
        "valid_to is before valid_from",
    ),
    "voucher_zero_face_value": (
        _bad_voucher(face_value=Decimal("0")),
        3,
        "face_value is not positive",
    ),
    "voucher_unknown_purchaser": (
        _bad_voucher(purchased_by="stranger"),
        3,
        "purchased_by is not a known account",
    ),
    "voucher_conflict": (
        lambda d: _append_rows(
            d, CATALOG, GOOD_VOUCHER, GOOD_VOUCHER | {"face_value": Decimal("50.00")}
        ),
        3,
        "voucher_id listed twice with different content",
    ),
    "voucher_event_null_id": (_bad_event(event_id=None), 3, "event_id is null"),
    "voucher_event_id_with_space": (
        _bad_event(event_id="e 1"),
        3,
        "event_id does not match the id pattern",
    ),
    "voucher_event_time_not_a_timestamp": (
        _with_text_time(EVENTS, GOOD_EVENT, "occurred_at", "soon", (CATALOG, GOOD_VOUCHER)),
        3,
        "occurred_at is not a timestamp",
    ),
    "voucher_id_formula": (
        _bad_voucher(voucher_id="=HYPERLINK(1)"),
        3,
        "voucher_id does not match the id pattern",
    ),
    "voucher_event_unknown_type": (
        _bad_event(event_type="gift"),
        3,
        "event_type is not one of transfer, redeem, refund_request",
    ),
    "voucher_event_unknown_actor": (
        _bad_event(actor_account_id="stranger"),
        3,
        "actor_account_id is not a known account",
    ),
    "coupon_usage_null_id": (_bad_usage(usage_id=None), 3, "usage_id is null"),
    "coupon_usage_zero_amount": (
        _bad_usage(used_amount=Decimal("0")),
        3,
        "used_amount is not positive",
    ),
    "coupon_usage_half_cent": (
        _bad_usage(used_amount=Decimal("5.005")),
        3,
        "used_amount is not a whole number of cents",
    ),
    "coupon_usage_bad_month": (
        _bad_usage(coupon_month="March"),
        3,
        "coupon_month is not YYYY-MM",
    ),
    "coupon_usage_unknown_account": (
        _bad_usage(account_id="stranger"),
        3,
        "account_id is not a known account",
    ),
    "coupon_usage_unknown_kind": (
        _bad_usage(instrument_kind="gift_card"),
        3,
        "instrument_kind is not one of referral_coupon, welcome_credit, welcome_discount",
    ),
    "coupon_usage_id_with_space": (
        _bad_usage(usage_id="u 1"),
        3,
        "usage_id does not match the id pattern",
    ),
    "coupon_usage_null_amount": (_bad_usage(used_amount=None), 3, "used_amount is null"),
    "coupon_usage_null_time": (_bad_usage(used_at=None), 3, "used_at is null"),
    "coupon_usage_time_not_a_timestamp": (
        _with_text_time(USAGE, GOOD_USAGE, "used_at", "soon"),
        3,
        "used_at is not a timestamp",
    ),
    "welcome_usage_half_cent_order": (
        _bad_usage(
            instrument_kind="welcome_discount", coupon_month=None, order_amount=Decimal("25.005")
        ),
        3,
        "order_amount is not a whole number of cents",
    ),
    "voucher_null_purchaser": (_bad_voucher(purchased_by=None), 3, "purchased_by is null"),
    "voucher_null_face_value": (_bad_voucher(face_value=None), 3, "face_value is null"),
    "voucher_null_validity": (_bad_voucher(valid_to=None), 3, "valid_from or valid_to is null"),
    "voucher_null_purchase_time": (_bad_voucher(purchased_at=None), 3, "purchased_at is null"),
    "voucher_purchase_time_not_a_timestamp": (
        _with_text_time(CATALOG, GOOD_VOUCHER, "purchased_at", "at the fair"),
        3,
        "purchased_at is not a timestamp",
    ),
    "voucher_null_max_transfers": (_bad_voucher(max_transfers=None), 3, "max_transfers is null"),
    "voucher_event_null_time": (_bad_event(occurred_at=None), 3, "occurred_at is null"),
    "voucher_event_null_actor": (_bad_event(actor_account_id=None), 3, "actor_account_id is null"),
    "welcome_usage_zero_order": (
        _bad_usage(
            instrument_kind="welcome_discount", coupon_month=None, order_amount=Decimal("0")
        ),
        3,
        "order_amount is not positive",
    ),
}


MARCH = Path("billing/billing_cycle=2025-03/part-0.parquet")
ELIGIBLE = "eligible_products.csv"
RULES = "rules.toml"
GOOD_ELIGIBLE = (
    "product_code,subscription_type,product_name,effective_from,effective_to\n"
    "ecs,PayAsYouGo,ECS,2020-01-01,\n"
    "oss,*,OSS,2020-01-01,\n"
)


def _keep_rows(data, relative, keep):
    table = _table(data, relative)
    _write(data, relative, table.filter(pa.array([keep(row) for row in table.to_pylist()])))


def _add_column(data, relative, name):
    table = _table(data, relative)
    _write(data, relative, table.append_column(name, pa.array(["forged"] * table.num_rows)))


def _pad_march(data, lines):
    """March grows to `lines` bill lines of a walk-in customer (April stays at five)."""
    table = _table(data, MARCH)
    walk_in = table.slice(table.num_rows - 1, 1).to_pylist()[0]
    extra = [walk_in | {"record_id": f"walk-in-{i}", "account_id": "walk-in"} for i in range(lines)]
    _write(data, MARCH, pa.concat_tables([table, pa.Table.from_pylist(extra, table.schema)]))


def _redeliver_as_double(data):
    table = _table(data, APRIL)
    row = table.slice(_first_referee_line(data), 1)
    for name in (
        "pretax_gross_amount",
        "pretax_amount",
        "deducted_by_coupons",
        "deducted_by_cash_coupons",
        "deducted_by_prepaid_card",
        "cash_amount",
    ):
        index = row.schema.get_field_index(name)
        value = row.column(name)[0].as_py()
        # DOUBLE, and the cash as text with two places ('12.00', not '12.0000')
        if name == "cash_amount":
            retyped = pa.array([f"{value:.2f}"], pa.string())
        else:
            retyped = pa.array([float(value)], pa.float64())
        row = row.set_column(index, pa.field(name, retyped.type), retyped)
    pq.write_table(row, data / APRIL.with_name("part-1.parquet"))


def _eligible(text):
    return lambda d: (d / ELIGIBLE).write_bytes(text.encode())


def _rules(old, new):
    from transforms.rules import DEFAULT_RULES_PATH

    def mutate(data):
        text = DEFAULT_RULES_PATH.read_text()
        assert old in text, old
        (data / RULES).write_text(text.replace(old, new))

    return mutate


def _retype_timestamps(data, relative, column, type_, values=None):
    table = _table(data, relative)
    values = values or table.column(column).to_pylist()
    _retype(data, relative, column, values, type_)


WITH_ELIGIBLE = ["--eligible-products", "{data}/" + ELIGIBLE]
WITH_RULES = ["--config", "{data}/" + RULES]
NS_UTC = pa.timestamp("ns", tz="UTC")

# issue 17: inputs that look valid but are not. kind -> (mutation, exit code, message
# fragment, extra command-line arguments ({data} is the kind's data folder))
LOOKS_VALID_KINDS = {
    # snapshots only grow, and are never empty
    "empty_accounts_snapshot": (
        lambda d: _write(d, ACCOUNTS, _table(d, ACCOUNTS).slice(0, 0)),
        3,
        "the accounts snapshot holds no rows",
        [],
    ),
    "empty_referrals_snapshot": (
        lambda d: _write(d, REFERRALS, _table(d, REFERRALS).slice(0, 0)),
        3,
        "the referrals snapshot holds no rows",
        [],
    ),
    "lost_referrals": (
        lambda d: _keep_rows(d, REFERRALS, lambda r: r["referee_account_id"] != "friend-1"),
        3,
        "1 referrals known to 2025-03 are missing (e.g. friend-1 referred by referrer-1)",
        [],
    ),
    "lost_accounts": (
        lambda d: _keep_rows(d, ACCOUNTS, lambda r: r["account_id"] != "friend-2"),
        3,
        "1 accounts known to 2025-03 are missing (e.g. friend-2)",
        [],
    ),
    # complete deliveries
    "withdrawn_cycle": (
        lambda d: shutil.rmtree(d / MARCH.parent),
        3,
        "no billing export for 2025-03, which earlier months were settled on",
        [],
    ),
    "missing_middle_cycle": (
        lambda d: (
            shutil.copytree(d / MARCH.parent, d / "billing" / "billing_cycle=2025-02"),
            shutil.rmtree(d / MARCH.parent),
        ),
        3,
        "no billing export for 2025-03 between 2025-02 and 2025-04",
        [],
    ),
    "tiny_cycle": (
        lambda d: _pad_march(d, 300),
        3,
        "4 bill line(s), fewer than 10% of 2025-03's 303",
        [],
    ),
    "upper_case_parquet_extension": (
        # found whatever the case: the month is settled as from the base
        lambda d: (d / APRIL).rename((d / APRIL).with_suffix(".PARQUET")),
        0,
        "",
        [],
    ),
    # the pipeline's own column names
    "reserved_column_filename": (
        lambda d: _add_column(d, APRIL, "filename"),
        3,
        "column filename is reserved",
        [],
    ),
    "reserved_column_file_row_number": (
        lambda d: _add_column(d, APRIL, "file_row_number"),
        3,
        "column file_row_number is reserved",
        [],
    ),
    "reserved_column_source_file": (
        lambda d: _add_column(d, REFERRALS, "source_file"),
        3,
        "column source_file is reserved",
        [],
    ),
    # the id contract
    "account_id_with_trailing_space": (
        lambda d: _set_cell(d, APRIL, "account_id", _first_referee_line(d), "friend-2 "),
        3,
        "account_id does not match the id pattern",
        [],
    ),
    "account_id_empty": (
        lambda d: _append_copy(d, ACCOUNTS, 0, {"account_id": "", "identity_key": "someone"}),
        3,
        "account_id does not match the id pattern",
        [],
    ),
    "referrer_id_formula": (
        lambda d: _append_copy(
            d, REFERRALS, 2, {"referee_account_id": "friend-9", "referrer_account_id": "=1+1"}
        ),
        3,
        "referrer_account_id does not match the id pattern",
        [],
    ),
    "referrer_id_one_megabyte": (
        lambda d: _append_copy(
            d,
            REFERRALS,
            2,
            {"referee_account_id": "friend-9", "referrer_account_id": "r" * 1_000_000},
        ),
        3,
        "referrer_account_id does not match the id pattern",
        [],
    ),
    "referee_id_at_sum": (
        lambda d: _append_copy(
            d,
            REFERRALS,
            2,
            {"referee_account_id": "@SUM(1+1)", "referrer_account_id": "referrer-2"},
        ),
        3,
        "referee_account_id does not match the id pattern",
        [],
    ),
    "record_id_command": (
        lambda d: _set_cell(d, APRIL, "record_id", _first_referee_line(d), "+cmd|' /C calc'!A0"),
        3,
        "record_id does not match the id pattern",
        [],
    ),
    "identity_key_empty": (
        lambda d: _set_cell(d, ACCOUNTS, "identity_key", 2, ""),
        3,
        "identity_key is empty",
        [],
    ),
    # exact parsing
    "cash_amount_finer_than_four_places": (
        lambda d: _retype(
            d,
            APRIL,
            "cash_amount",
            [
                Decimal("9.999950") if i == _first_referee_line(d) else v
                for i, v in enumerate(_table(d, APRIL).column("cash_amount").to_pylist())
            ],
            pa.decimal128(18, 6),
        ),
        3,
        "cash_amount has more than 4 decimal places",
        [],
    ),
    "redelivered_as_double_and_text": (
        # the same record again in a second part file, its amounts as DOUBLE and text: one line
        lambda d: _redeliver_as_double(d),
        0,
        "",
        [],
    ),
    "verified_at_nanoseconds_at_the_edge": (
        lambda d: _retype_timestamps(
            d,
            ACCOUNTS,
            "verified_at",
            NS_UTC,
            [9_223_372_036_854_775_000, *_table(d, ACCOUNTS).column("verified_at").to_pylist()[1:]],
        ),
        3,
        "verified_at after the newest delivered billing cycle",
        [],
    ),
    "registered_at_text_with_offset": (
        # the same instants as the base, written as text in +14:00 and -05:00
        lambda d: _retype(
            d,
            REFERRALS,
            "registered_at",
            [
                (moment.astimezone(timezone(timedelta(hours=14 if i % 2 else -5)))).isoformat()
                for i, moment in enumerate(_table(d, REFERRALS).column("registered_at").to_pylist())
            ],
            pa.string(),
        ),
        0,
        "",
        [],
    ),
    "registered_at_nanoseconds": (
        # a TIMESTAMPTZ_NS column is a timestamp like any other
        lambda d: _retype_timestamps(d, REFERRALS, "registered_at", NS_UTC),
        0,
        "",
        [],
    ),
    # the eligible-products file, checked like any input
    "eligible_products_empty": (_eligible(""), 3, "the header must be exactly", WITH_ELIGIBLE),
    "eligible_products_header_only": (
        _eligible(GOOD_ELIGIBLE.splitlines()[0] + "\n"),
        3,
        "no product rows",
        WITH_ELIGIBLE,
    ),
    "eligible_products_star_only": (
        _eligible("*\n"),
        3,
        "the header must be exactly",
        WITH_ELIGIBLE,
    ),
    "eligible_products_no_header": (
        _eligible("".join(GOOD_ELIGIBLE.splitlines(keepends=True)[1:])),
        3,
        "the header must be exactly",
        WITH_ELIGIBLE,
    ),
    "eligible_products_swapped_columns": (
        _eligible(
            GOOD_ELIGIBLE.replace(
                "product_code,subscription_type", "subscription_type,product_code"
            )
        ),
        3,
        "the header must be exactly",
        WITH_ELIGIBLE,
    ),
    "eligible_products_upper_case_code": (
        _eligible(GOOD_ELIGIBLE.replace("ecs,", "ECS,")),
        3,
        "product_code 'ECS' is not a trimmed lower-case code",
        WITH_ELIGIBLE,
    ),
    "eligible_products_stray_space": (
        _eligible(GOOD_ELIGIBLE.replace("ecs,", " ecs,")),
        3,
        "product_code ' ecs' is not a trimmed lower-case code",
        WITH_ELIGIBLE,
    ),
    "eligible_products_ends_before_it_starts": (
        _eligible(GOOD_ELIGIBLE.replace("2020-01-01,\n", "2020-01-01,2019-12-31\n", 1)),
        3,
        "effective_to 2019-12-31 is before effective_from 2020-01-01",
        WITH_ELIGIBLE,
    ),
    "eligible_products_overlap": (
        _eligible(GOOD_ELIGIBLE + "ecs,*,ECS again,2024-01-01,\n"),
        3,
        "ecs * overlaps row 2",
        WITH_ELIGIBLE,
    ),
    "eligible_products_bare_cr_line_ends": (
        # old Mac line ends are line ends: the file is read as written
        _eligible(GOOD_ELIGIBLE.replace("\n", "\r")),
        0,
        "",
        WITH_ELIGIBLE,
    ),
    # config that would break the program's promises (exit 2, one line naming the key)
    "rules_validity_zero_days": (
        _rules("coupon_validity_days = 365", "coupon_validity_days = 0"),
        2,
        "coupon_validity_days must be at least 1 day",
        WITH_RULES,
    ),
    "rules_issue_day_31": (
        _rules("coupon_issue_day_of_month = 5", "coupon_issue_day_of_month = 31"),
        2,
        "coupon_issue_day_of_month must be in the first week",
        WITH_RULES,
    ),
    "rules_issue_day_0": (
        _rules("coupon_issue_day_of_month = 5", "coupon_issue_day_of_month = 0"),
        2,
        "coupon_issue_day_of_month must be in the first week",
        WITH_RULES,
    ),
    "rules_half_cent_base": (
        _rules('base_credit_usd = "20.00"', 'base_credit_usd = "20.005"'),
        2,
        "base_credit_usd = 20.005 must be whole cents",
        WITH_RULES,
    ),
    "rules_cap_1e20": (
        _rules('cap_per_referee_usd = "300.00"', 'cap_per_referee_usd = "1e20"'),
        2,
        "cap_per_referee_usd = 1E+20 is larger than",
        WITH_RULES,
    ),
    "rules_huge_hold": (
        _rules("hold_days = 30", "hold_days = 100000000"),
        2,
        "hold_days = 100000000 is more than 3660 days",
        WITH_RULES,
    ),
    "rules_bonus_rate_too_precise": (
        _rules('bonus_rate = "0.10"', 'bonus_rate = "0.12345"'),
        2,
        "bonus_rate = 0.12345 must be at most 4 decimal places",
        WITH_RULES,
    ),
    "rules_excluded_products_a_string": (
        _rules(
            'coupon_excluded_products = ["swas", "webhosting", "domain", "alidns", "marketplace"]',
            'coupon_excluded_products = "swas"',
        ),
        2,
        "coupon_excluded_products must be a list of product codes",
        WITH_RULES,
    ),
    "rules_other_currency": (
        _rules('currency = "USD"', 'currency = "EUR"'),
        2,
        "currency = 'EUR': the program pays in USD",
        WITH_RULES,
    ),
}


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        base = build_base(Path(scratch))
        target = CORPUS / "base"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(base, target)
        every = [("settle", kind, (*case, [])) for kind, case in KINDS.items()] + [
            ("instruments", kind, (*case, [])) for kind, case in INSTRUMENT_KINDS.items()
        ]
        every += [("settle", kind, case) for kind, case in LOOKS_VALID_KINDS.items()]
        for command, kind, (mutate, exit_code, message, args) in every:
            folder = CORPUS / kind
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(base, folder / "data")
            mutate(folder / "data")
            expected = {"command": command, "exit_code": exit_code, "message": message}
            if args:
                expected["args"] = args
            (folder / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    print(f"{len(every)} bad-input kinds written under {CORPUS}")


if __name__ == "__main__":
    main()
