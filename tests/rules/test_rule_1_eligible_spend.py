"""Rule 1: eligible spend. One tiny world per edge, settled by the real pipeline (see tests/rules/)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.rules import R, day
from transforms.errors import InputError

# --- rule 1: eligible spend -----------------------------------------------------------


def test_spend_of_exactly_20_00_earns_the_base(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(5), "20.00")
    world.settle("2025-04")
    status = world.status("friend", "2025-04")
    assert status["base_status"] == "earned"
    assert world.credited("friend") == Decimal("20.00")


def test_spend_of_19_99_earns_nothing(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(5), "19.99")
    world.settle("2025-04")
    assert world.status("friend", "2025-04")["base_status"] == "below_threshold"
    assert world.credited("friend") == 0


def test_spend_before_registration_does_not_count(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", R - timedelta(days=1), "100.00")
    world.spend("friend", day(1), "10.00")
    world.settle("2025-04")
    status = world.status("friend", "2025-04")
    assert status["eligible_spend_to_date_usd"] == Decimal("10.00")
    assert world.credited("friend") == 0


@pytest.mark.parametrize(
    ("product", "kind", "counts"),
    [
        ("ecs", "PayAsYouGo", True),
        ("ecs", "Subscription", False),  # ECS counts only pay-as-you-go
        ("oss", "Subscription", True),  # '*' matches both kinds
        ("cdn", "PayAsYouGo", False),  # CDN never counts
        ("swas", "Subscription", False),  # Simple Application Server never counts
        ("unlisted", "PayAsYouGo", False),  # a product not listed does not count
    ],
)
def test_only_eligible_product_and_subscription_type_count(world, product, kind, counts):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "50.00", product=product, kind=kind)
    world.settle("2025-04")
    spend = world.status("friend", "2025-04")["eligible_spend_to_date_usd"]
    assert spend == (Decimal("50.00") if counts else 0)


def test_eligibility_follows_the_effective_dates_of_the_line(world, tmp_path):
    products = tmp_path / "eligible.csv"
    products.write_text(
        "product_code,subscription_type,product_name,effective_from,effective_to\n"
        "ecs,PayAsYouGo,ECS,2020-01-01,2025-03-10\n"
    )
    world.refer("friend", "referrer", R)
    world.spend("friend", day(10), "15.00")  # 2025-03-10: last effective day
    world.spend("friend", day(11), "15.00")  # 2025-03-11: no longer eligible
    world.settle("2025-04", eligible_products=products)
    assert world.status("friend", "2025-04")["eligible_spend_to_date_usd"] == Decimal("15.00")


def test_coupon_paid_part_of_a_line_does_not_count(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "5.00", coupon="40.00")
    world.settle("2025-04")
    assert world.status("friend", "2025-04")["eligible_spend_to_date_usd"] == Decimal("5.00")


def test_a_record_delivered_twice_counts_once(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "15.00", record_id="same-record")
    world.spend("friend", day(2), "15.00", record_id="same-record")
    world.settle("2025-04")
    assert world.status("friend", "2025-04")["eligible_spend_to_date_usd"] == Decimal("15.00")
    assert world.credited("friend") == 0


def test_a_record_delivered_twice_with_different_content_is_rejected(world):
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "15.00", record_id="same-record")
    world.spend("friend", day(2), "16.00", record_id="same-record")
    with pytest.raises(
        InputError,
        match=r"part-0.parquet: record_id delivered twice with different content.*record_id=same-record",
    ):
        world.settle("2025-04")


def test_copies_of_a_record_that_differ_in_any_column_are_rejected(world):
    # identical means identical: a copy that differs only in a column the rules do not
    # read is still a different record, and counting either copy would be a guess
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "15.00", record_id="same-record")
    world.spend("friend", day(2), "15.00", record_id="same-record")["product_name"] = "Renamed"
    with pytest.raises(InputError, match=r"record_id delivered twice with different content"):
        world.settle("2025-04")


def test_record_ids_are_matched_within_their_billing_cycle(world):
    # a record's copies share its billing_date, hence its cycle: the same id in two
    # cycles names two lines (docs/data-contract.md)
    world.refer("friend", "referrer", R)
    world.spend("friend", day(2), "15.00", record_id="monthly-line-1")  # 2025-03
    world.spend("friend", day(40), "15.00", record_id="monthly-line-1")  # 2025-04
    world.settle("2025-04")
    assert world.status("friend", "2025-04")["eligible_spend_to_date_usd"] == Decimal("30.00")


HEADER = "product_code,subscription_type,product_name,effective_from,effective_to"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the header must be exactly"),
        (HEADER, "no product rows"),
        ("ecs,PayAsYouGo,ECS,2020-01-01,", "the header must be exactly"),  # no header row
        (
            "subscription_type,product_code,product_name,effective_from,effective_to\n"
            "PayAsYouGo,ecs,ECS,2020-01-01,",
            "the header must be exactly",
        ),
        (HEADER + "\n*,*,everything,2020-01-01,", "row 2: product_code '*'"),
        (HEADER + "\n ecs,PayAsYouGo,ECS,2020-01-01,", "row 2: product_code ' ecs'"),
        (HEADER + "\nECS,PayAsYouGo,ECS,2020-01-01,", "row 2: product_code 'ECS'"),
        (HEADER + "\necs,Monthly,ECS,2020-01-01,", "row 2: subscription_type 'Monthly'"),
        (HEADER + "\necs,*,ECS,2025-05-01,2025-04-30", "row 2: effective_to 2025-04-30 is before"),
        (
            HEADER + "\necs,*,ECS,2020-01-01,\necs,PayAsYouGo,ECS,2024-01-01,",
            "row 3: ecs PayAsYouGo overlaps row 2",
        ),
    ],
)
def test_an_eligible_products_file_that_would_silently_pay_wrong_stops_the_run(
    world, tmp_path, text, problem
):
    # issue 17: an empty, header-less or sloppy list used to publish 0 or too few coupons
    products = tmp_path / "eligible.csv"
    products.write_text(text + "\n" if text else "")
    world.refer("friend", "referrer", R)
    world.spend("friend", day(10), "25.00")
    with pytest.raises(InputError, match=re.escape(problem)):
        world.settle("2025-04", eligible_products=products)
    assert not (world.out / "batches" / "2025-04").exists()


def test_products_may_repeat_for_other_kinds_or_other_periods(world, tmp_path):
    products = tmp_path / "eligible.csv"
    products.write_text(
        HEADER + "\necs,PayAsYouGo,ECS,2020-01-01,2024-12-31\necs,PayAsYouGo,ECS,2025-01-01,\n"
        "ecs,Subscription,ECS,2020-01-01,\n"
    )
    world.refer("friend", "referrer", R)
    world.spend("friend", day(10), "25.00")
    (outcome,) = world.settle("2025-04", eligible_products=products)
    assert outcome.coupon_count == 1
