"""``tsunagu report annual|monthly``: the fiscal-year reports as XLSX (DATA_FORMATS §7)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from directory.fiscal import FiscalPeriodError
from web.cli._common import _, actor, as_option, database, describe, fail, lang, lang_option
from web.services import AccessDenied, NotFoundForActor

report = AppGroup("report", help="Reports.")


def _write(fy: int, month: int | None, area: str | None, output: Path) -> None:
    from web.reports import make_report, report_xlsx

    try:
        made = make_report(database(), actor(), fy=fy, month=month, area=area, lang=lang())
    except FiscalPeriodError as exc:
        fail(describe(exc), code=2)
    except NotFoundForActor:
        fail(_("no area with code {area}", area=area))
    except AccessDenied as exc:
        fail(describe(exc))
    part = output.with_name(output.name + ".part")
    part.write_bytes(report_xlsx(made, lang()))
    part.replace(output)
    click.echo(
        _(
            "{output}: {period}, {count} areas",
            output=output,
            period=made.label,
            count=len(made.places),
        ),
        err=True,
    )


@report.command("annual")
@click.option("--fy", type=int, required=True, help="The fiscal year (April–March), e.g. 2024.")
@click.option("--area", default=None, help="One area's code (default: every area you may see).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@lang_option
@as_option
def annual(fy: int, area: str | None, output: Path) -> None:
    """The fiscal year's report per area and district, with the year before beside it
    (resources, needs, referrals, unmet needs, how current the directory is)."""
    _write(fy, None, area, output)


@report.command("monthly")
@click.option("--fy", type=int, required=True, help="The fiscal year (April–March), e.g. 2024.")
@click.option("--month", type=click.IntRange(1, 12), required=True, help="The month (1–12).")
@click.option("--area", default=None, help="One area's code (default: every area you may see).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@lang_option
@as_option
def monthly(fy: int, month: int, area: str | None, output: Path) -> None:
    """The month's activity per area and district, with the same month a year before."""
    _write(fy, month, area, output)


COMMANDS = (report,)
