"""``tsunagu audit verify|export|prune``: the audit log (SECURITY_NOTES)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from web import audit as audit_log
from web.cli._common import _, actor, as_option, database, fail, lang_option

audit = AppGroup("audit", help="The audit log.")

_DAY = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])


@audit.command("verify")
@lang_option
def audit_verify() -> None:
    """Verify the audit log's hash chain. If it was tampered with, show the first bad row and exit with code 1."""
    with database().read() as session:
        checked, broken = audit_log.verify(session)
    if broken is not None:
        fail(
            _(
                "the audit chain is broken at id {id} ({reason}); the {checked} rows before it "
                "verify",
                id=broken.id,
                reason=broken.reason,
                checked=checked,
            )
        )
    click.echo(_("the audit log verifies ({checked} rows)", checked=checked), err=True)


@audit.command("export")
@click.option("--from", "start", required=True, type=_DAY, help="From this date and time (UTC).")
@click.option(
    "--to",
    "end",
    required=True,
    type=_DAY,
    help="Until this date and time (UTC; a date alone includes that day).",
)
@click.option("--user", "login", default=None, help="Only this login's actions.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="The CSV file to write (default: standard output).",
)
@lang_option
def audit_export(
    start: dt.datetime, end: dt.datetime, login: str | None, output: Path | None
) -> None:
    """Write the audit log of a period (and a user) as CSV (to investigate for a breach report)."""
    if end.time() == dt.time(0):
        end = end + dt.timedelta(days=1)  # a date alone includes that whole day
    if end <= start:
        fail(_("--to must be after --from"), code=2)
    with database().read() as session:
        data = audit_log.export_csv(audit_log.events_between(session, start, end, login))
    if output is None:
        click.echo(data, nl=False)
    else:
        output.write_text(data, encoding="utf-8")
        rows = data.count("\r\n") - 1
        click.echo(_("{output}: {rows} rows written", output=output, rows=rows), err=True)


@audit.command("prune")
@lang_option
@as_option
def audit_prune() -> None:
    """Delete the rows older than the retention period (AUDIT_RETENTION_DAYS, 5 years by default). The rest can still be verified."""
    keep = int(current_app.config["AUDIT_RETENTION_DAYS"])
    by = actor()
    with database().write() as session:
        count = audit_log.prune(session, by, keep_days=keep)
    click.echo(_("{count} rows older than {keep} days deleted", count=count, keep=keep), err=True)


COMMANDS = (audit,)
