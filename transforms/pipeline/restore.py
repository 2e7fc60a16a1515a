"""`creditflow restore`: the documented way back from a changed published file
(docs/operations.md#a-published-file-changed). The month's changed files are moved aside
into OUT/evidence/M/ (kept, never deleted), then the month is rendered again from the
ledger by its own rerun, which checks every file against the digests recorded when it was
published."""

from dataclasses import dataclass
from pathlib import Path

from transforms.errors import UsageError
from transforms.pipeline import evidence, instruments, settlement, warehouse
from transforms.pipeline.layout import OutputLayout
from transforms.pipeline.options import RunOptions


@dataclass(frozen=True)
class Restored:
    set_aside: list[Path]
    rendered_again: list[str]  # 'settlement', 'instruments'


def restore(month: str, options: RunOptions) -> Restored:
    layout = OutputLayout(Path(options.out_dir))
    settled = month in layout.published_settlement_months()
    instrument_month = month in layout.published_instrument_months()
    if not (settled or instrument_month):
        raise UsageError(f"usage: {month} is not published under {layout.root}: nothing to restore")
    con = warehouse.connect(layout, read_only=False)
    try:
        moved = evidence.set_aside(con, layout, month)
    finally:
        con.close()
    again = []
    if settled:
        settlement.settle(month, options)
        again.append("settlement")
    if instrument_month:
        instruments.run_month(month, options)
        again.append("instruments")
    return Restored(moved, again)
