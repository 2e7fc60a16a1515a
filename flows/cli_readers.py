"""The read-only commands (export, journal, statement, explain): they read the analysts'
catalog, write only a file a person chose, never wait for a run and never import Prefect."""

import sys
from decimal import Decimal
from pathlib import Path

from transforms.errors import UsageError
from transforms.pipeline.layout import OutputLayout


def export(args) -> int:
    """Read-only: never waits for a run, never makes one wait."""
    from transforms.pipeline import export

    target = args.to
    refuse_managed_target(args.out, target)
    sheets = export.month_sheets(args.out, args.month)
    if args.format == "xlsx":
        target.parent.mkdir(parents=True, exist_ok=True)
        export.write_xlsx(sheets, target)
    else:
        export.write_csv(sheets, target)
    counts = ", ".join(f"{sheet.name} {len(sheet.rows)}" for sheet in sheets)
    print(f"{args.month}: exported ({counts} rows) -> {target}")
    return 0


def journal(args) -> int:
    """Read-only, like export: the month's journal to a file, or CSV to standard output."""
    from transforms.journal import balances
    from transforms.money import format_usd
    from transforms.pipeline import export
    from transforms.pipeline import journal as month_journal
    from transforms.pipeline.files import atomic_write
    from transforms.rules import RulesError

    if args.format == "xlsx" and args.to is None:
        raise UsageError("usage: --format xlsx needs --to FILE (a workbook is not text)")
    if args.to is not None:
        refuse_managed_target(args.out, args.to)
    try:
        sheet = month_journal.month_journal(args.out, args.month, args.config)
    except RulesError as error:
        raise UsageError(str(error)) from None
    debits = sum((row[4] for row in sheet.rows), Decimal("0.00"))
    credits = sum((row[5] for row in sheet.rows), Decimal("0.00"))
    if args.to is None:
        sys.stdout.write(export.csv_text(sheet))
        return 0
    args.to.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "xlsx":
        export.write_xlsx([sheet], args.to)
    else:
        atomic_write(args.to, export.csv_text(sheet).encode(), mode=0o644)
    accounts = len(balances(sheet.rows))
    print(
        f"{args.month}: journal of {len(sheet.rows)} line(s) over {accounts} account(s), "
        f"debits USD {format_usd(debits)}, credits USD {format_usd(credits)} -> {args.to}"
    )
    return 0


def explain(args) -> int:
    """Read-only like export; the bill lines are re-read into a scratch directory."""
    import json

    from transforms.pipeline import explain, explain_render

    (found,) = explain.explain_month(args.out, args.month, [args.referrer], args.data)
    if args.format == "json":
        print(json.dumps(explain_render.as_json(found), indent=2))
    else:
        print(explain_render.format_text(found))
    return 0


def refuse_managed_target(out: Path, target: Path) -> None:
    """A command that writes a file a person chose never writes over what the pipeline
    owns under OUT (a published batch, the ledger, the catalog, ...)."""
    owned = OutputLayout(out).managed_path(target)
    if owned:
        raise UsageError(
            f"usage: --to {target} is inside {owned}, which the pipeline owns (a published "
            "batch, the ledger, the catalog, ...): write somewhere else"
        )


def statement(args) -> int:
    """Read-only: one referrer's statement, as text, JSON or a workbook."""
    import json

    from transforms.pipeline import export
    from transforms.pipeline import statement as referrer_statement

    if args.format == "xlsx":
        if args.file is None:
            raise UsageError("usage: --format xlsx needs --file FILE (a workbook is not text)")
        refuse_managed_target(args.out, args.file)
    found = referrer_statement.statement(args.out, args.referrer, args.first, args.last)
    if args.format == "json":
        print(json.dumps(referrer_statement.as_json(found), indent=2))
    elif args.format == "xlsx":
        args.file.parent.mkdir(parents=True, exist_ok=True)
        export.write_xlsx([found.sheet()], args.file)
        print(f"{args.referrer}: statement of {len(found.lines)} line(s) -> {args.file}")
    else:
        print(referrer_statement.format_text(found))
    return 0
