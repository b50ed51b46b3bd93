"""``tsunagu directory unconfirmed`` and ``tsunagu import confirmations``: a verification
round from the command line (the call sheet out, the filled sheet back in)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from directory.errors import DirectoryError, InvalidInputError
from web.cli._common import (
    _,
    actor,
    as_option,
    database,
    describe,
    fail,
    json_option,
    lang,
    lang_option,
)
from web.cli.data import _report_invalid, directory_group, import_
from web.services import AccessDenied, NotFoundForActor
from web.verification import (
    VERIFY_AFTER_DAYS,
    call_sheet_csv,
    describe_days,
    import_confirmations,
    unconfirmed,
)


@directory_group.command("unconfirmed")
@click.option(
    "--days",
    type=click.IntRange(0, 36500),
    default=VERIFY_AFTER_DAYS,
    show_default=True,
    help="Not confirmed for this many days (or ever).",
)
@click.option("--area", default=None, help="One area's code (tier 2: your own by default).")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="The call sheet (CSV)."
)
@json_option()
@lang_option
@as_option
def directory_unconfirmed(days: int, area: str | None, output: Path | None, as_json: bool) -> None:
    """Resources due for a verification call, by district, with the number to call; -o
    writes the call sheet to fill in (確認日) and import back with `import confirmations`."""
    try:
        rows = unconfirmed(database(), actor(), days=days, area=area)
    except NotFoundForActor:
        fail(_("no area with code {area}", area=area))
    except AccessDenied as exc:
        fail(describe(exc))
    if output is not None:
        output.write_bytes(call_sheet_csv(rows))
        click.echo(_("{output}: {count} items written", output=output, count=len(rows)), err=True)
        return
    if as_json:
        payload = [
            {
                "id": u.external_id,
                "name": u.name,
                "district": u.district_code,
                "organization": u.organization,
                "phone": u.phone,
                "last_verified_on": u.last_verified_on.isoformat() if u.last_verified_on else None,
                "days": u.days,
            }
            for u in rows
        ]
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    for u in rows:
        click.echo(
            f"{u.district_name}\t{u.external_id}\t{u.name}\t{u.phone}\t{describe_days(u, lang())}"
        )


@import_.command("confirmations")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check only (write nothing).")
@lang_option
@as_option
def import_confirmations_cmd(file: Path, dry_run: bool) -> None:
    """A filled call sheet: each row with a 確認日 confirms that resource on that day.
    Every row is checked first; any problem confirms nothing."""
    try:
        result = import_confirmations(database(), actor(), file, dry_run=dry_run)
    except InvalidInputError as exc:
        _report_invalid(file, exc, as_json=False)
        raise SystemExit(1) from None
    except (DirectoryError, AccessDenied) as exc:
        fail(describe(exc))
    click.echo(
        _(
            "{file}: {confirmed} confirmed, {skipped} rows without a date left as they were",
            file=file,
            confirmed=result.confirmed,
            skipped=result.skipped,
        ),
        err=True,
    )


COMMANDS = ()
