"""`creditflow export`: one settled month as a workbook (xlsx) or a folder of CSV files, read
from the analysts' catalog (OUT/catalog.duckdb), so an export never waits for a run.

Sheets: Summary, Coupons (no codes), Statements, Pending, Rejections, Liability,
Instruments. Money stays
Decimal from DuckDB to the file: an xlsx cell holds the Decimal's own digits with a
two-decimal currency format, a CSV field its two-decimal text; nothing passes through a
float. The same month exports to the same bytes (fixed workbook times and zip entry dates).
"""

import csv
import io
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from transforms.batch_file import safe_cell
from transforms.errors import UsageError
from transforms.money import format_usd
from transforms.pipeline import catalog, sql_runner
from transforms.pipeline.files import atomic_write
from transforms.pipeline.layout import OutputLayout

MONEY_FORMAT = '"USD" #,##0.00;"USD" -#,##0.00'
DATE_FORMAT = "yyyy-mm-dd"
# a fixed time for the workbook's properties and zip entries: the same month, the same bytes
FIXED_TIME = datetime(2000, 1, 1)


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: list[str]
    rows: list[tuple]


def month_sheets(out: Path, month: str) -> list[Sheet]:
    """The month's sheets from OUT/catalog.duckdb (attached read-only as `warehouse`)."""
    layout = OutputLayout(Path(out))
    with catalog.reader(layout) as con:
        parameters = {"settlement_month": month}
        summary = _query(con, "export_summary", parameters)
        if not summary.rows:
            raise UsageError(f"usage: {month} is not settled in {layout.root}")
        rejections = _query(con, "export_referral_reasons", parameters)
        for quarantine in (
            layout.quarantine_file(month),
            layout.instrument_quarantine_file(month),
        ):
            if quarantine.is_file():
                more = _query(con, "export_quarantine_counts", {"quarantine_file": str(quarantine)})
                rejections = Sheet("Rejections", rejections.columns, rejections.rows + more.rows)
        return [
            Sheet(
                "Summary",
                ["measure", "value"],
                list(zip(summary.columns, summary.rows[0], strict=True)),
            ),
            _named("Coupons", _query(con, "export_coupons", parameters)),
            _named("Statements", _query(con, "export_statements", parameters)),
            _named("Pending", _query(con, "export_pending", parameters)),
            _named("Rejections", rejections),
            _named("Liability", _query(con, "export_liability", parameters)),
            # the month's roll-forward, as rollforward.csv holds it (empty until published)
            _named(
                "Instruments",
                _query(con, "instrument_rollforward_file", {"instrument_month": month}),
            ),
        ]


def _query(con, name: str, parameters: dict) -> Sheet:
    cursor = sql_runner.query(con, sql_runner.sql_file(f"queries/{name}.sql"), parameters)
    return Sheet(name, [d[0] for d in cursor.description], cursor.fetchall())


def _named(name: str, sheet: Sheet) -> Sheet:
    return Sheet(name, sheet.columns, sheet.rows)


def _is_money(column: str, value) -> bool:
    return isinstance(value, Decimal) and column.endswith("_usd")


def write_xlsx(sheets: list[Sheet], path: Path) -> None:
    """A workbook: header row bold and frozen, widths set, money as Decimal digits with a
    currency format, dates as dates."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.writer.excel import ExcelWriter

    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.created = workbook.properties.modified = FIXED_TIME
    for sheet in sheets:
        worksheet = workbook.create_sheet(sheet.name)
        worksheet.append(sheet.columns)
        for cell in worksheet[1]:
            cell.font = Font(bold=True)
        worksheet.freeze_panes = "A2"
        widths = [len(c) for c in sheet.columns]
        for row in sheet.rows:
            # text that starts like a formula stays text (openpyxl would store "=..." as one)
            worksheet.append([safe_cell(v) if isinstance(v, str) else v for v in row])
            cells = worksheet[worksheet.max_row]
            for index, (cell, value) in enumerate(zip(cells, row, strict=True)):
                column = sheet.columns[index] if sheet.name != "Summary" else str(row[0])
                if _is_money(column, value):
                    cell.number_format = MONEY_FORMAT
                elif isinstance(value, date):
                    cell.number_format = DATE_FORMAT
                widths[index] = max(widths[index], len(_text(value)))
        for index, width in enumerate(widths):
            letter = worksheet.cell(row=1, column=index + 1).column_letter
            worksheet.column_dimensions[letter].width = min(width + 2, 60)
    buffer = io.BytesIO()
    with _exact_decimals(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        # the writer itself, not Workbook.save, which stamps the time of saving
        ExcelWriter(workbook, archive).save()
    atomic_write(path, _fixed_zip_times(buffer.getvalue()), mode=0o644)


@contextmanager
def _exact_decimals():
    """openpyxl (3.1) writes every number as "%.16g", through a float: 96.26 becomes
    96.26000000000001. While saving, a Decimal is written as its own digits instead
    (tests/test_export.py reads the sheet XML to hold this)."""
    from openpyxl.cell import _writer

    original = _writer.safe_string

    def exact(value):
        return str(value) if isinstance(value, Decimal) else original(value)

    _writer.safe_string = exact
    try:
        yield
    finally:
        _writer.safe_string = original


def _fixed_zip_times(data: bytes) -> bytes:
    """The same workbook with every zip entry dated FIXED_TIME (openpyxl stamps the time of
    saving), so that the same month exports to the same bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(entry.filename))
    return buffer.getvalue()


def write_csv(sheets: list[Sheet], folder: Path) -> None:
    """One CSV file per sheet; money as two-decimal text, dates as ISO text."""
    folder.mkdir(parents=True, exist_ok=True)
    for sheet in sheets:
        atomic_write(folder / f"{sheet.name}.csv", csv_text(sheet).encode(), mode=0o644)


def csv_text(sheet: Sheet) -> str:
    """A sheet as CSV text: a header row, then money as two-decimal text, dates as ISO text."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(sheet.columns)
    for row in sheet.rows:
        writer.writerow([_text(value) for value in row])
    return text.getvalue()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_cell(value)
    if isinstance(value, Decimal):
        return format_usd(value) if value == value.quantize(Decimal("0.01")) else str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)
