"""One tiny world per voucher and coupon rule (docs/instruments.md), run through the real
instrument month; plus the roll-forward identity, reruns and ordering."""

import csv
import hashlib
from datetime import date, datetime
from decimal import Decimal

import duckdb
import pytest

from tests.world import month_events as _events
from tests.world import month_state as _state
from transforms.errors import StateConflict
from transforms.pipeline import instruments, published_files
from transforms.pipeline.instruments_publish import INSTRUMENT_FILES
from transforms.pipeline.options import RunOptions

APRIL = date(2025, 4, 1)


def _voucher_world(world, **voucher):
    for account in ("alice", "bob", "carol", "dave"):
        world.account(account)
    options = {
        "purchased": date(2025, 3, 20),
        "valid_from": date(2025, 4, 1),
        "valid_to": date(2025, 6, 30),
    } | voucher
    world.voucher("V1", "alice", **options)
    return world


def test_third_transfer_of_a_two_transfer_voucher_is_rejected(world):
    _voucher_world(world, max_transfers=2)
    world.voucher_event("e1", "V1", "transfer", "alice", date(2025, 4, 2), to="bob")
    world.voucher_event("e2", "V1", "transfer", "bob", date(2025, 4, 3), to="carol")
    world.voucher_event("e3", "V1", "transfer", "carol", date(2025, 4, 4), to="dave")
    world.run_instruments("2025-04")
    assert _events(world, "2025-04") == {
        "e1": (True, None),
        "e2": (True, None),
        "e3": (False, "transfer_limit_reached"),
    }
    state = _state(world, "2025-04", "V1")
    assert (state["owner_account_id"], state["transfers_used"]) == ("carol", 2)


def test_transfer_by_a_non_owner_is_rejected(world):
    _voucher_world(world)
    world.voucher_event("e1", "V1", "transfer", "bob", date(2025, 4, 2), to="carol")
    world.run_instruments("2025-04")
    assert _events(world, "2025-04") == {"e1": (False, "not_owner")}


def test_transfer_back_to_the_purchaser_is_rejected(world):
    _voucher_world(world)
    world.voucher_event("e1", "V1", "transfer", "alice", date(2025, 4, 2), to="bob")
    world.voucher_event("e2", "V1", "transfer", "bob", date(2025, 4, 3), to="alice")
    world.run_instruments("2025-04")
    assert _events(world, "2025-04")["e2"] == (False, "transfer_back_to_earlier_owner")


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"discounted": True}, "not_transferable"),
        ({"channel": "special"}, "not_transferable"),
        ({"max_transfers": 0}, "not_transferable"),
    ],
)
def test_discounted_special_or_zero_transfer_vouchers_never_transfer(world, options, reason):
    _voucher_world(world, **options)
    world.voucher_event("e1", "V1", "transfer", "alice", date(2025, 4, 2), to="bob")
    world.run_instruments("2025-04")
    assert _events(world, "2025-04") == {"e1": (False, reason)}


@pytest.mark.parametrize(
    ("recipient", "reason"),
    [("stranger", "unknown_recipient"), ("alice", "transfer_to_current_owner")],
)
def test_transfer_recipient_must_be_a_known_other_account(world, recipient, reason):
    _voucher_world(world)
    world.voucher_event("e1", "V1", "transfer", "alice", date(2025, 4, 2), to=recipient)
    world.run_instruments("2025-04")
    assert _events(world, "2025-04") == {"e1": (False, reason)}


def test_transfer_keeps_validity_and_the_invoice_stays_with_the_purchaser(world):
    _voucher_world(world)
    world.voucher_event("e1", "V1", "transfer", "alice", date(2025, 4, 2), to="bob")
    world.run_instruments("2025-04")
    state = _state(world, "2025-04", "V1")
    assert (state["valid_from"], state["valid_to"]) == (date(2025, 4, 1), date(2025, 6, 30))
    assert (state["owner_account_id"], state["invoice_account"]) == ("bob", "alice")


def test_redeem_before_validity_after_expiry_and_twice(world):
    _voucher_world(world, valid_to=date(2025, 4, 15))
    world.voucher("V2", "alice", date(2025, 3, 20), date(2025, 4, 1), date(2025, 4, 30))
    world.voucher_event("early", "V1", "redeem", "alice", date(2025, 3, 25))
    world.voucher_event("late", "V1", "redeem", "alice", date(2025, 4, 20))
    world.voucher_event("first", "V2", "redeem", "alice", date(2025, 4, 5))
    world.voucher_event("second", "V2", "redeem", "alice", date(2025, 4, 6))
    world.voucher_event("after-redeem", "V2", "transfer", "alice", date(2025, 4, 7), to="bob")
    world.run_instruments("2025-03", "2025-04")
    assert _events(world, "2025-03") == {"early": (False, "not_yet_valid")}
    assert _events(world, "2025-04") == {
        "first": (True, None),
        "second": (False, "already_redeemed"),
        "after-redeem": (False, "already_redeemed"),
        "late": (False, "outside_validity"),
    }
    assert _state(world, "2025-04", "V1")["status"] == "expired"
    assert _state(world, "2025-04", "V2")["status"] == "redeemed"


def test_refund_request_is_always_rejected(world):
    _voucher_world(world)
    world.voucher_event("e1", "V1", "refund_request", "alice", date(2025, 4, 2))
    world.run_instruments("2025-04")
    assert _events(world, "2025-04") == {"e1": (False, "not_refundable")}


def test_unredeemed_voucher_expires_at_month_end_as_breakage(world):
    _voucher_world(world, valid_to=date(2025, 4, 30), face_value="80.00")
    world.voucher(
        "V2", "alice", date(2025, 3, 20), date(2025, 4, 1), date(2025, 5, 10), face_value="50.00"
    )
    world.run_instruments("2025-03", "2025-05")
    assert _state(world, "2025-04", "V1")["status"] == "active"  # valid through the cutoff day
    assert _state(world, "2025-05", "V1")["status"] == "expired"
    rows = list(csv.DictReader((world.out / "instruments" / "2025-05" / "rollforward.csv").open()))
    voucher = next(r for r in rows if r["instrument_kind"] == "voucher")
    assert voucher == {
        "instrument_kind": "voucher",
        "opening_outstanding_usd": "130.00",
        "issued_usd": "0.00",
        "redeemed_or_used_usd": "0.00",
        "expired_usd": "130.00",
        "closing_outstanding_usd": "0.00",
    }


def test_duplicated_event_ids_apply_once_and_conflicting_copies_are_rejected(world):
    _voucher_world(world)
    world.voucher_event("e1", "V1", "transfer", "alice", date(2025, 4, 2), to="bob")
    world.voucher_event("e1", "V1", "transfer", "alice", date(2025, 4, 2), to="bob", file=1)
    world.voucher_event("e2", "V1", "redeem", "bob", date(2025, 4, 3))
    world.voucher_event("e2", "V1", "redeem", "bob", datetime(2025, 4, 3, 18), file=1)
    world.run_instruments("2025-04")
    with duckdb.connect() as con:
        rows = con.execute(
            "select event_id, accepted, reason from read_parquet($p) order by all",
            {"p": str(world.out / "instruments" / "2025-04" / "events.parquet")},
        ).fetchall()
    assert rows == [("e1", True, None), ("e2", False, "duplicate_event_id"), ("e2", True, None)]


def test_events_apply_in_time_order_whatever_the_file_order(world):
    _voucher_world(world)
    world.voucher_event("later", "V1", "transfer", "bob", date(2025, 4, 9), to="carol", file=0)
    world.voucher_event("earlier", "V1", "transfer", "alice", date(2025, 4, 2), to="bob", file=1)
    world.run_instruments("2025-04")
    assert _events(world, "2025-04") == {"earlier": (True, None), "later": (True, None)}
    assert _state(world, "2025-04", "V1")["owner_account_id"] == "carol"


def _listed(world, month):
    """Every row of the month's events.parquet, in file order: (id, accepted, reason, late)."""
    with duckdb.connect() as con:
        return con.execute(
            "select event_id, accepted, reason, late, occurred_at from read_parquet($p)",
            {"p": str(world.out / "instruments" / month / "events.parquet")},
        ).fetchall()


def test_a_late_redeem_is_applied_in_the_first_unpublished_month(world):
    _voucher_world(world)  # valid 2025-04-01..2025-06-30
    world.run_instruments("2025-04")
    april = (world.out / "instruments" / "2025-04" / "events.parquet").read_bytes()
    # redeemed on April 28, delivered after April was published
    world.voucher_event("late", "V1", "redeem", "alice", datetime(2025, 4, 28, 12))
    world.run_instruments("2025-05")
    assert _listed(world, "2025-05") == [("late", True, None, True, datetime(2025, 4, 28, 12))]
    assert _state(world, "2025-05", "V1")["status"] == "redeemed"
    # April is never reopened
    assert (world.out / "instruments" / "2025-04" / "events.parquet").read_bytes() == april


def test_a_late_redeem_dated_while_valid_undoes_the_breakage_of_its_expiry(world):
    """A ledger records what happened: the voucher was redeemed on April 28, while valid;
    April expired it (breakage 100.00) before the redeem was delivered. May applies the
    redeem (late) and reverses April's breakage there, as a correction; the roll-forward
    holds in both months and April is never reopened."""
    # valid to April 29: it expires at April's month end, and April is published
    _voucher_world(world, valid_to=date(2025, 4, 29))
    world.run_instruments("2025-04")
    assert _state(world, "2025-04", "V1")["status"] == "expired"
    april = _rollforward(world, "2025-04")
    assert april["expired_usd"] == Decimal("100.00")
    world.voucher_event("late", "V1", "redeem", "alice", datetime(2025, 4, 28, 12))
    world.run_instruments("2025-05")
    assert _listed(world, "2025-05") == [("late", True, None, True, datetime(2025, 4, 28, 12))]
    may_state = _state(world, "2025-05", "V1")
    assert (may_state["status"], may_state["remaining_balance_usd"]) == (
        "redeemed",
        Decimal("0.00"),
    )
    assert may_state["expired_this_month_usd"] == Decimal("-100.00")  # the breakage reversed
    may = _rollforward(world, "2025-05")
    assert (may["redeemed_or_used_usd"], may["expired_usd"]) == (
        Decimal("100.00"),
        Decimal("-100.00"),
    )
    assert (
        may["opening_outstanding_usd"]
        + may["issued_usd"]
        - may["redeemed_or_used_usd"]
        - may["expired_usd"]
        == may["closing_outstanding_usd"]
        == Decimal("0.00")
    )


def test_a_late_event_dated_after_the_validity_or_on_time_finds_the_instrument_expired(world):
    _voucher_world(world, valid_to=date(2025, 4, 29))
    world.run_instruments("2025-04")
    # dated after the validity (late) and dated in May (not late): the expiry stands
    world.voucher_event("late", "V1", "redeem", "alice", datetime(2025, 4, 30, 12))
    world.voucher_event("now", "V1", "redeem", "alice", datetime(2025, 5, 2, 12))
    world.run_instruments("2025-05")
    assert [row[:4] for row in _listed(world, "2025-05")] == [
        ("late", False, "already_expired", True),
        ("now", False, "already_expired", False),
    ]
    assert _state(world, "2025-05", "V1")["status"] == "expired"
    assert _rollforward(world, "2025-05")["expired_usd"] == Decimal("0.00")


def _rollforward(world, month: str) -> dict:
    with duckdb.connect(str(world.out / "warehouse.duckdb"), read_only=True) as con:
        cursor = con.execute(
            "select * from instrument_rollforward where instrument_month = $m "
            "and instrument_kind = 'voucher'",
            {"m": month},
        )
        columns = [d[0] for d in cursor.description]
        return dict(zip(columns, cursor.fetchall()[0], strict=True))


def test_an_id_is_listed_once_for_all_time_and_never_applied_twice(world):
    _voucher_world(world)
    world.voucher_event("e1", "V1", "transfer", "alice", date(2025, 4, 2), to="bob")
    world.run_instruments("2025-04")
    # May: e1 delivered again as it was (the same event: not listed again), and again with
    # other content (a conflicting copy: listed and rejected where it arrives)
    world.voucher_event("e1", "V1", "transfer", "bob", date(2025, 5, 2), to="carol", file=1)
    world.run_instruments("2025-05", "2025-06")
    assert [row[:4] for row in _listed(world, "2025-05")] == [
        ("e1", False, "duplicate_event_id", False)
    ]
    assert _listed(world, "2025-06") == []
    assert _state(world, "2025-06", "V1")["owner_account_id"] == "bob"


def test_a_month_whose_event_and_usage_folders_hold_no_file_runs(world):
    _voucher_world(world)
    world.voucher_events = []  # the folders exist, with no Parquet file in them
    world.write()
    (world.data / "coupon_usage" / "usage.parquet").unlink()
    options = RunOptions(data_dir=world.data, out_dir=world.out)
    (outcome,) = [instruments.run_month("2025-04", options)]
    assert (outcome.action, outcome.event_count) == ("published", 0)
    assert _listed(world, "2025-04") == []


# --- referral coupons ----------------------------------------------------------------


def _coupon_world(world, settled_through="2025-05"):
    """referrer-1 gets a 20.00 coupon for settlement month 2025-04, issued 2025-05-05; the
    months through `settled_through` are settled (instrument month M needs M-1 and M)."""
    world.refer("friend", "referrer-1", date(2025, 3, 1))
    world.spend("friend", date(2025, 3, 2), "20.00")
    world.account("other")
    world.settle("2025-04", settled_through)
    return world


def test_published_coupons_enter_the_ledger_when_issued(world):
    _coupon_world(world)
    world.run_instruments("2025-05")
    state = _state(world, "2025-05", "referrer-1:2025-04")
    assert (state["instrument_kind"], state["status"], state["remaining_balance_usd"]) == (
        "referral_coupon",
        "active",
        Decimal("20.00"),
    )


@pytest.mark.parametrize(
    ("usage", "reason"),
    [
        ({"product": "swas"}, "excluded_product"),
        ({"amount": "20.01"}, "exceeds_balance"),
        ({"account": "other"}, "unknown_instrument"),
        ({"account": "other", "owner": "referrer-1"}, "not_owner"),
        ({"when": date(2025, 5, 1)}, "not_yet_valid"),
    ],
)
def test_coupon_usage_rules(world, usage, reason):
    _coupon_world(world)
    options = {"account": "referrer-1", "amount": "5.00", "when": date(2025, 5, 10)} | usage
    world.use_coupon(
        "u1",
        options["account"],
        "2025-04",
        options["amount"],
        options["when"],
        product=options.get("product", "ecs"),
        owner=options.get("owner"),
    )
    world.run_instruments("2025-05")
    assert _events(world, "2025-05") == {"u1": (False, reason)}


def test_partial_use_then_expiry_of_the_rest(world):
    _coupon_world(world)
    world.use_coupon("u1", "referrer-1", "2025-04", "12.50", date(2025, 5, 10))
    world.use_coupon("u2", "referrer-1", "2025-04", "1.00", date(2026, 5, 5))  # valid_to 2026-05-04
    world.settle("2025-06", "2026-05")  # instrument month M needs settlements M-1 and M
    world.run_instruments("2025-05", "2026-05")
    assert _state(world, "2025-05", "referrer-1:2025-04")["status"] == "partially_used"
    final = _state(world, "2026-05", "referrer-1:2025-04")
    assert (final["status"], final["expired_this_month_usd"]) == ("expired", Decimal("7.50"))
    assert _events(world, "2026-05") == {"u2": (False, "outside_validity")}


def test_a_coupon_usage_delivered_again_with_a_later_timestamp_is_not_spent_twice(world):
    _coupon_world(world, settled_through="2025-06")
    world.use_coupon("u1", "referrer-1", "2025-04", "5.00", date(2025, 5, 10))
    world.run_instruments("2025-05")
    world.use_coupon("u1", "referrer-1", "2025-04", "5.00", date(2025, 6, 10))
    world.run_instruments("2025-06")
    assert [row[:4] for row in _listed(world, "2025-06")] == [
        ("u1", False, "duplicate_event_id", False)
    ]
    assert _state(world, "2025-06", "referrer-1:2025-04")["remaining_balance_usd"] == Decimal(
        "15.00"
    )


def test_rollforward_balances_every_month_and_reruns_are_identical(world):
    _coupon_world(world)
    _voucher_world(world)
    world.voucher_event("e1", "V1", "redeem", "alice", date(2025, 5, 3))
    world.use_coupon("u1", "referrer-1", "2025-04", "3.00", date(2025, 6, 1))
    world.settle("2025-06", "2025-07")
    world.run_instruments("2025-03", "2025-07")
    before = {p: p.read_bytes() for p in (world.out / "instruments").rglob("*") if p.is_file()}
    rows = world.query(
        "select instrument_month, instrument_kind, opening_outstanding_usd + issued_usd"
        " - redeemed_or_used_usd - expired_usd - closing_outstanding_usd from instrument_rollforward"
    )
    # five months, four kinds (vouchers, referral coupons, welcome credit and discount)
    assert len(rows) == 20 and all(imbalance == 0 for *_, imbalance in rows)
    outcomes = world.run_instruments("2025-05")
    assert outcomes[0].action == "already published"
    after = {p: p.read_bytes() for p in (world.out / "instruments").rglob("*") if p.is_file()}
    assert after == before


def test_a_republished_month_must_render_the_bytes_recorded_when_it_was_published(world):
    _voucher_world(world)
    world.run_instruments("2025-04")
    folder = world.out / "instruments" / "2025-04"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        published_files.names(INSTRUMENT_FILES)
    )
    columns = ", ".join(file.digest_column for file in INSTRUMENT_FILES)
    assert world.query(f"select {columns} from instrument_months") == [
        tuple(
            hashlib.sha256((folder / file.name).read_bytes()).hexdigest()
            for file in INSTRUMENT_FILES
        )
    ]
    # the ledger edited behind the pipeline's back, then a file lost: the rerun that would
    # restore it renders other bytes, and refuses before writing anything
    with duckdb.connect(str(world.out / "warehouse.duckdb")) as con:
        con.execute("update instrument_state set remaining_balance_usd = 1")
    (folder / "state.parquet").unlink()
    with pytest.raises(StateConflict, match=r"2025-04: re-rendered state\.parquet does not match"):
        world.run_instruments("2025-04")
    assert not (folder / "state.parquet").exists()


def test_instrument_months_run_in_order_and_changed_inputs_conflict(world):
    _coupon_world(world)
    world.run_instruments("2025-05")
    with pytest.raises(StateConflict, match="run 2025-06 first"):
        world.run_instruments("2025-07")
    world.use_coupon("late", "referrer-1", "2025-04", "1.00", date(2025, 5, 20))
    with pytest.raises(StateConflict, match="inputs changed"):
        world.run_instruments("2025-05")


def test_instruments_wait_for_the_settlement_that_issues_the_coupons(world):
    _coupon_world(world, settled_through="2025-04")
    with pytest.raises(StateConflict, match="settle 2025-05 first: its coupons"):
        world.run_instruments("2025-06")


def test_instruments_wait_for_the_settlement_that_issues_the_welcome_rewards(world):
    _coupon_world(world, settled_through="2025-05")
    world.run_instruments("2025-05")
    with pytest.raises(StateConflict, match="settle 2025-06 first: the welcome rewards"):
        world.run_instruments("2025-06")
