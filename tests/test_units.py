"""Unit tests of the pure modules: money, months, rules, coupon codes, the batch file, the
input contract, the instrument engine and its row mapping, and the stage runner."""

import dataclasses
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import examples
from transforms import contracts, instrument_rollforward, instrument_rows, money, months
from transforms import instrument_lifecycle as engine
from transforms.batch_file import COUPON_COLUMNS, render_coupons_csv
from transforms.coupon_codes import CouponKey, coupon_code, key_from_environment
from transforms.pipeline.runner import Pipeline, Stage, run_pipeline
from transforms.rules import DEFAULT_RULES_PATH, RulesError, load_rules, rules_from_json

REPO = Path(__file__).resolve().parents[1]

# --- money ----------------------------------------------------------------------------


def test_money_parses_exact_text_and_refuses_floats_and_garbage():
    assert money.parse_usd("20.05") == Decimal("20.05")
    assert money.parse_usd(3) == Decimal(3)
    for value in (0.1, True):
        with pytest.raises(TypeError):
            money.parse_usd(value)
    for value in ("abc", "NaN", "Infinity"):
        with pytest.raises(ValueError):
            money.parse_usd(value)


def test_money_formats_only_whole_cents():
    assert money.format_usd(Decimal("12.3")) == "12.30"
    assert money.format_usd(Decimal("-0.50")) == "-0.50"
    with pytest.raises(ValueError, match="round in SQL first"):
        money.format_usd(Decimal("0.005"))


# --- months ---------------------------------------------------------------------------


def test_month_dates_derive_cutoff_previous_month_and_issue_day():
    dates = months.MonthDates.of("2024-02", 5)
    assert dates == months.MonthDates("2024-02", "2024-01", date(2024, 2, 29), date(2024, 3, 5))
    assert months.MonthDates.of("2025-12", 5).issued_on == date(2026, 1, 5)
    assert months.month_range("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    for bad in ("2025-13", "25-01", "2025-1"):
        with pytest.raises(ValueError):
            months.parse_month(bad)
    with pytest.raises(ValueError, match="does not exist"):
        months.coupon_issue_date("2025-01", 30)  # February has no 30th


def test_previous_is_the_month_before_today_in_utc():
    # the schedule runs on the 4th: it settles the month before, across a year end too
    assert months.resolve_month("previous", date(2026, 4, 4)) == "2026-03"
    assert months.resolve_month("previous", date(2026, 1, 4)) == "2025-12"
    assert months.resolve_month("2025-07", date(2026, 1, 4)) == "2025-07"
    with pytest.raises(ValueError):
        months.resolve_month("last", date(2026, 1, 4))


# --- rules ----------------------------------------------------------------------------


def test_rules_load_exact_amounts_and_bind_every_parameter():
    rules = load_rules()
    assert rules.base_credit_usd == Decimal("20.00") and rules.bonus_rate == Decimal("0.10")
    parameters = rules.sql_parameters(rules.month_dates("2025-04"))
    assert parameters["cutoff_date"] == date(2025, 4, 30)
    assert parameters["issued_on"] == date(2025, 5, 5)
    assert parameters["billing_lines_item_values"] == [
        "SubscriptionOrder",
        "PayAsYouGoBill",
        "Refund",
        "Adjustment",
    ]
    assert rules.sha256() == load_rules(DEFAULT_RULES_PATH).sha256()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('bonus_rate = "0.10"', "bonus_rate = 0.10"), "quoted decimal string"),
        (("hold_days = 30", "hold_days = -1"), "whole number of days"),
        (("hold_days = 30", ""), "missing keys"),
        (('currency = "USD"', 'currency = "USD"\nsurprise = 1'), "unknown keys"),
        (("coupon_transferable = false", 'coupon_transferable = "no"'), "true or false"),
        # values that would break the program's promises (issue 17): one line naming the key
        (("coupon_validity_days = 365", "coupon_validity_days = 0"), "coupon_validity_days"),
        (("coupon_issue_day_of_month = 5", "coupon_issue_day_of_month = 31"), "first week"),
        (("coupon_issue_day_of_month = 5", "coupon_issue_day_of_month = 0"), "first week"),
        (('base_credit_usd = "20.00"', 'base_credit_usd = "20.005"'), "whole cents"),
        (('bonus_rate = "0.10"', 'bonus_rate = "0.12345"'), "at most 4 decimal places"),
        (('cap_per_referee_usd = "300.00"', 'cap_per_referee_usd = "1e20"'), "larger than"),
        (('cap_per_referee_usd = "300.00"', 'cap_per_referee_usd = "10.00"'), "at least"),
        (("hold_days = 30", "hold_days = 100000000"), "more than 3660 days"),
        (('currency = "USD"', 'currency = "usd"'), "the program pays in USD"),
        (('currency = "USD"', 'currency = "EUR"'), "currency = 'EUR'"),
        (
            ("welcome_products = []", 'welcome_products = ["ECS "]'),
            "'ECS ' is not a product code",
        ),
        (("welcome_products = []", 'welcome_products = ["ecs", "ecs"]'), "lists a product twice"),
        (('currency = "USD"', 'currency = "USD"\nid_pattern = ".*"'), "accepts ''"),
        (('currency = "USD"', 'currency = "USD"\nid_pattern = "[a-z"'), "not a regular expression"),
        (('currency = "USD"', 'currency = "USD"\nid_pattern = 7'), "quoted regular expression"),
        (
            (
                'coupon_excluded_products = ["swas", "webhosting", "domain", "alidns", "marketplace"]',
                'coupon_excluded_products = "swas"',
            ),
            "must be a list of product codes",
        ),
    ],
)
def test_rules_file_errors_name_the_key(tmp_path, edit, message):
    text = DEFAULT_RULES_PATH.read_text().replace(*edit)
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(RulesError, match=message):
        load_rules(path)


# --- coupon codes and the batch file ---------------------------------------------------


def test_coupon_codes_are_keyed_reproducible_and_marked_under_the_development_key():
    key = CouponKey(b"a-key-of-sixteen-chars", "configured")
    code = coupon_code(key, "2025-04", "r1")
    assert code == coupon_code(key, "2025-04", "r1") and code.startswith("RAF-")
    assert code != coupon_code(key, "2025-05", "r1")
    assert code != coupon_code(CouponKey(b"another-key-of-16+", "configured"), "2025-04", "r1")
    assert key_from_environment({}).is_development
    assert coupon_code(key_from_environment({}), "2025-04", "r1").startswith("DEV-")
    with pytest.raises(ValueError, match="at least 16"):
        key_from_environment({"CREDITFLOW_COUPON_KEY": "short"})
    assert "a-key" not in repr(key)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (" " * 20, "spaces or a line end around it"),
        ("a-good-looking-key-1234\n", "spaces or a line end around it"),
        ("x" * 40, "at least 8 different characters"),
        ("abababababababababab", "at least 8 different characters"),
        ("abcdefg12345678", "at least 16 characters"),  # 15, all different
        ("creditflow-DEVELOPMENT-key-NOT-FOR-REAL-COUPONS", "is the development key"),
    ],
)
def test_a_weak_coupon_key_is_refused_with_the_reason(key, problem):
    with pytest.raises(ValueError, match=problem):
        key_from_environment({"CREDITFLOW_COUPON_KEY": key})


@pytest.mark.parametrize(
    ("key", "skeleton"),
    [
        ("person-alice", "person-alice"),
        ("person-\u0430lice", "person-alice"),  # Cyrillic a
        ("person-a\u200blice", "person-alice"),  # zero-width space
        ("\ufeffPERSON-ALICE", "person-alice"),  # byte-order mark, upper case
        ("\uff50\uff45\uff52\uff53\uff4f\uff4e-alice", "person-alice"),  # full width
        ("person-a\u00adlice", "person-alice"),  # soft hyphen
        ("person-al\u0131ce", "person-alice"),  # dotless i
        ("person-bob", "person-bob"),
        ("\u0141ukasz", "\u0142ukasz"),  # another script's own letter stays itself
        (None, None),
    ],
)
def test_identity_keys_are_compared_by_their_skeleton(key, skeleton):
    from transforms.identity import identity_skeleton

    assert identity_skeleton(key) == skeleton


# the keys rules 3-5 meet: plain ASCII, its controls and DEL, the lookalikes, nothing
_IDENTITY_KEYS = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=12),
    st.text(max_size=12),
    st.sampled_from(["person-\u0430lice", "\ufeffPERSON-ALICE", "a\u200bb", "", " ", "\x7f"]),
)


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(_IDENTITY_KEYS, max_size=40))
def test_the_sql_macro_gives_each_key_the_skeleton_identity_skeleton_gives_it(keys):
    """The SQL macro identity_skeleton lowers a key of printable ASCII itself and hands
    every other key to the rule's Python function (sql/macros/identity.sql): for any mix of
    keys, through a DuckDB connection as the models call it, each key's skeleton is the one
    transforms/identity.py gives it."""
    import duckdb
    import pyarrow as pa

    from transforms.identity import identity_skeleton
    from transforms.pipeline import sql_runner

    con = duckdb.connect()
    sql_runner.run_macros(con)
    con.register(
        "identity_keys", pa.table({"n": range(len(keys)), "key": pa.array(keys, pa.string())})
    )
    got = con.execute("select identity_skeleton(key) from identity_keys order by n").fetchall()
    assert [skeleton for (skeleton,) in got] == [identity_skeleton(key) for key in keys]


def test_a_key_at_the_floor_is_accepted():
    assert not key_from_environment({"CREDITFLOW_COUPON_KEY": "abcdefgh12345678"}).is_development


def test_batch_file_is_sorted_with_two_decimals_and_refuses_non_positive_amounts():
    row = {
        "settlement_month": "2025-04",
        "currency": "USD",
        "issued_on": date(2025, 5, 5),
        "valid_from": date(2025, 5, 5),
        "valid_to": date(2026, 5, 4),
        "is_transferable": False,
        "excluded_products": "swas",
        "referee_count": 1,
    }
    key = CouponKey(b"a-key-of-sixteen-chars", "configured")
    rendered = render_coupons_csv(
        [
            {**row, "referrer_account_id": "b", "amount_usd": Decimal("1.5")},
            {**row, "referrer_account_id": "a", "amount_usd": Decimal("20.00")},
        ],
        key,
    ).decode()
    lines = rendered.splitlines()
    assert lines[0] == ",".join(COUPON_COLUMNS)
    assert [line.split(",")[1:3] for line in lines[1:]] == [["a", "20.00"], ["b", "1.50"]]
    with pytest.raises(ValueError, match="has amount"):
        render_coupons_csv([{**row, "referrer_account_id": "c", "amount_usd": Decimal(0)}], key)


# --- the input contract ----------------------------------------------------------------


def test_contract_derives_schemas_allowed_values_and_the_docs_tables():
    assert "coupon_owner_account_id" not in contracts.COUPON_USAGE.arrow_schema().names
    assert (
        "coupon_owner_account_id" in contracts.COUPON_USAGE.arrow_schema(with_optional=True).names
    )
    assert contracts.allowed_values()["accounts_risk_status_values"][0] == "ok"
    documented = (REPO / "docs" / "data-contract.md").read_text()
    assert contracts.markdown() in documented, (
        "docs/data-contract.md is behind the contract: paste `python -m transforms.contracts`"
    )


# --- the instrument engine and its rows --------------------------------------------------


def _voucher(**changes) -> engine.Instrument:
    voucher = engine.Instrument(
        kind=engine.VOUCHER,
        instrument_id="v1",
        owner_account_id="alice",
        invoice_account_id="alice",
        face_value_usd=Decimal("100.00"),
        remaining_balance_usd=Decimal("100.00"),
        valid_from=date(2025, 4, 1),
        valid_to=date(2025, 4, 30),
        issued_on=date(2025, 3, 20),
        max_transfers=1,
        is_transferable=True,
    )
    return dataclasses.replace(voucher, **changes)


def _event(event_type, actor="alice", on=date(2025, 4, 10), **changes) -> engine.Event:
    return engine.Event(
        event_id="e1",
        kind=changes.pop("kind", engine.VOUCHER),
        instrument_id="v1",
        event_type=event_type,
        actor_account_id=actor,
        occurred_at=datetime.combine(on, datetime.min.time()),
        **changes,
    )


def test_apply_event_transfers_once_and_never_back():
    accounts = frozenset({"alice", "bob"})
    moved, outcome = engine.apply_event(
        _voucher(), _event("transfer", to_account_id="bob"), accounts
    )
    assert (
        outcome.accepted and moved.owner_account_id == "bob" and moved.earlier_owners == ("alice",)
    )
    assert moved.invoice_account_id == "alice"
    _, again = engine.apply_event(moved, _event("transfer", "bob", to_account_id="alice"), accounts)
    assert again.reason == engine.TRANSFER_LIMIT_REACHED
    back = dataclasses.replace(moved, max_transfers=2)
    _, outcome = engine.apply_event(
        back, _event("transfer", "bob", to_account_id="alice"), accounts
    )
    assert outcome.reason == engine.TRANSFER_BACK


@pytest.mark.parametrize(
    ("instrument", "event", "reason"),
    [
        (None, _event("redeem"), engine.UNKNOWN_INSTRUMENT),
        (_voucher(status=engine.REDEEMED), _event("redeem"), engine.ALREADY_REDEEMED),
        (_voucher(status=engine.EXPIRED), _event("redeem"), engine.ALREADY_EXPIRED),
        (_voucher(), _event("refund_request"), engine.NOT_REFUNDABLE),
        (_voucher(), _event("redeem", actor="bob"), engine.NOT_OWNER),
        (_voucher(), _event("redeem", on=date(2025, 3, 31)), engine.NOT_YET_VALID),
        (_voucher(), _event("redeem", on=date(2025, 5, 1)), engine.EXPIRED_AT_EVENT),
        (_voucher(), _event("explode"), engine.UNKNOWN_EVENT_TYPE),
    ],
)
def test_apply_event_rejects_with_the_first_matching_reason(instrument, event, reason):
    unchanged, outcome = engine.apply_event(instrument, event, frozenset({"alice"}))
    assert (outcome.accepted, outcome.reason) == (False, reason)
    assert unchanged is instrument


def test_coupon_use_spends_whole_cents_within_the_balance_and_not_on_excluded_products():
    coupon = _voucher(kind=engine.REFERRAL_COUPON, excluded_products=("swas",))
    use = dict(kind=engine.REFERRAL_COUPON)
    used, outcome = engine.apply_event(
        coupon, _event("use", amount_usd=Decimal("40.00"), product_code="ecs", **use), frozenset()
    )
    assert outcome.amount_applied_usd == Decimal("40.00") and used.status == engine.PARTIALLY_USED
    for amount, product, reason in (
        (Decimal("0.001"), "ecs", engine.INVALID_AMOUNT),
        (Decimal("1.00"), "swas", engine.EXCLUDED_PRODUCT),
        (Decimal("100.01"), "ecs", engine.EXCEEDS_BALANCE),
    ):
        _, outcome = engine.apply_event(
            coupon, _event("use", amount_usd=amount, product_code=product, **use), frozenset()
        )
        assert outcome.reason == reason


def test_run_month_expires_after_valid_to_and_rolls_forward():
    opening = {"v1": _voucher()}
    issued = [_voucher(instrument_id="v2", valid_to=date(2025, 6, 30))]
    result = engine.run_month(opening, issued, [], frozenset(), date(2025, 5, 31))
    assert result.expired_usd == {"v1": Decimal("100.00")}
    # one row per kind, in engine.KINDS order, whether or not the month saw any of it
    (voucher_row, coupon_row, credit_row, discount_row) = instrument_rollforward.rollforward(
        opening, issued, result
    )
    assert credit_row["instrument_kind"] == "welcome_credit" and credit_row["issued_usd"] == 0
    assert discount_row["instrument_kind"] == "welcome_discount"
    assert voucher_row == {
        "instrument_kind": "voucher",
        "opening_outstanding_usd": Decimal("100.00"),
        "issued_usd": Decimal("100.00"),
        "redeemed_or_used_usd": Decimal("0.00"),
        "expired_usd": Decimal("100.00"),
        "closing_outstanding_usd": Decimal("100.00"),
    }
    assert coupon_row["closing_outstanding_usd"] == 0


def test_instrument_rows_round_trip_through_the_warehouse_shape():
    result = engine.run_month({}, [_voucher()], [], frozenset(), date(2025, 4, 30))
    (row,) = instrument_rows.state_rows("2025-04", result)
    assert instrument_rows.instrument(row) == _voucher()
    issued_row = {
        k: v
        for k, v in row.items()
        if k not in ("status", "remaining_balance_usd", "transfers_used", "earlier_owners")
    }
    assert instrument_rows.instrument(issued_row) == _voucher()


# --- the stage runner -------------------------------------------------------------------


@dataclasses.dataclass
class _Run:
    month: str
    published: bool
    closed: bool = False

    def close(self):
        self.closed = True


@dataclasses.dataclass(frozen=True)
class _Registered:
    already_published: bool


def test_runner_hands_each_stage_the_previous_result_and_republishes_published_months():
    runs = []

    def open_run(month, options):
        runs.append(_Run(month, published=options))
        return runs[-1]

    pipeline = Pipeline(
        "test",
        open_run,
        (
            Stage("register", lambda run, _: _Registered(run.published)),
            Stage("double", lambda run, previous: ["computed", previous]),
            Stage("finish", lambda run, previous: ("published", previous[0])),
        ),
        Stage("republish", lambda run, previous: ("republished", previous.already_published)),
    )
    assert run_pipeline(pipeline, "2025-04", False) == ("published", "computed")
    assert run_pipeline(pipeline, "2025-04", True) == ("republished", True)
    assert all(run.closed for run in runs)


def test_runner_closes_the_run_when_a_stage_fails():
    runs = []

    def failing(run, previous):
        raise RuntimeError("boom")

    pipeline = Pipeline(
        "test",
        lambda month, options: runs.append(_Run(month, False)) or runs[-1],
        (Stage("register", lambda run, _: _Registered(False)), Stage("fail", failing)),
        Stage("republish", failing),
    )
    with pytest.raises(RuntimeError):
        run_pipeline(pipeline, "2025-04", None)
    assert runs[0].closed


def test_a_range_run_says_where_it_stands_and_the_time_left():
    from transforms.summary import range_line, stage_line

    assert range_line("backfill", 1, 12, 0.4) == "backfill month 1/12"
    # 3 months done in 90 s: 30 s a month, 9 to go
    assert range_line("backfill", 4, 12, 90.0) == (
        "backfill month 4/12, 3 done in 1 min 30 s, about 4 min 30 s left"
    )
    assert range_line("instruments", 2, 2, 3.2) == (
        "instruments month 2/2, 1 done in 3 s, about 3 s left"
    )
    assert range_line("backfill", 121, 241, 3630.0).endswith("about 1 h 01 min left")
    assert stage_line("2026-03", "compute", "windows") == "2026-03: compute (windows)"
    assert stage_line("2026-03", "compute", "") == "2026-03: compute"


def test_id_pattern_is_optional_and_recorded_only_when_set(tmp_path):
    default = load_rules()
    assert "id_pattern" not in default.canonical_json()
    assert default.sql_parameters(default.month_dates("2025-04"))["id_pattern"] == (
        r"[A-Za-z0-9._:-]{1,64}"
    )
    path = tmp_path / "rules.toml"
    path.write_text(DEFAULT_RULES_PATH.read_text() + 'id_pattern = "[A-Z0-9]{1,12}"\n')
    custom = load_rules(path)
    assert json.loads(custom.canonical_json())["id_pattern"] == "[A-Z0-9]{1,12}"
    assert rules_from_json(custom.canonical_json()) == custom
    assert rules_from_json(default.canonical_json()) == default
