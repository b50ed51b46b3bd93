"""``tsunagu match`` and ``tsunagu unmet``: needs against the directory."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import click
from flask.cli import with_appcontext

from directory.fiscal import today_in_japan
from directory.i18n import N_
from matching.reasons import unmet_label
from web.cli._common import (
    ProgressBar,
    _,
    actor,
    as_option,
    database,
    describe,
    fail,
    json_option,
    lang,
    lang_option,
    on_option,
)
from web.services import AccessDenied, NotFoundForActor, unmet_report
from web.services import match as match_service


def _label(code: str) -> str:
    return unmet_label(code, lang())


def _day(on: Any) -> dt.date:
    return on.date() if on is not None else today_in_japan()


@click.command("match")
@click.option(
    "--need",
    "need_ids",
    multiple=True,
    help="A need's id (may be repeated; default: every open need).",
)
@click.option("--top", default=5, show_default=True, type=click.IntRange(1, 100))
@on_option
@json_option("Write DATA_FORMATS §5 JSON to standard output.")
@lang_option
@as_option
@with_appcontext
def match(need_ids: tuple[str, ...], top: int, on: Any, as_json: bool) -> None:
    """Rank the resources that fit the needs, with reasons (recorded as proposals and in the audit log)."""
    from matching.engine import result_to_json

    try:
        bar = ProgressBar()
        matched = match_service(
            database(),
            actor(),
            need_ids,
            on=_day(on),
            top=top,
            progress=lambda done, total: bar("match", done, total),
        )
    except NotFoundForActor as exc:
        fail(_("no such need: {need}", need=exc))
    except AccessDenied as exc:
        fail(describe(exc))
    if as_json:
        # §5 JSON: the reasons as stored (Japanese), or in the command's other language
        asked = None if lang() == "ja" else lang()
        results = [result_to_json(r, asked) for r in matched.results]
        click.echo(json.dumps(results, ensure_ascii=False))
        return
    for r in matched.results:
        if r.unmet:
            reason = _label(r.unmet_reason or "")
            near = (
                _(
                    " (closest: {name} — {reasons})",
                    name=r.near_miss.name,
                    reasons=_words(r.near_miss.reasons, N_("{a}; {b}")),
                )
                if r.near_miss
                else ""
            )
            click.echo(f"{r.need_id}: " + _("unmet: {reason}{near}", reason=reason, near=near))
            continue
        click.echo(f"{r.need_id}:")
        for rank, m in enumerate(r.matches, start=1):
            reasons = _words(m.reasons, N_("{a} · {b}"))
            click.echo(f"  {rank}. {m.name} [{m.external_id}] {m.score:.2f}  {reasons}")


def _words(reasons: Sequence[str], join: str) -> str:
    """The engine's reasons in the command's language, joined (Japanese 「・」/「、」)."""
    from matching.engine import describe_reason

    words = [describe_reason(r, lang()) for r in reasons]
    text = words[0] if words else ""
    for word in words[1:]:
        text = _(join, a=text, b=word)
    return text


@click.command("unmet")
@click.option(
    "--level",
    type=click.Choice(["district", "area", "municipality"]),
    default="district",
    show_default=True,
)
@click.option(
    "--fy",
    type=click.IntRange(1886, 2999),
    default=None,
    help="Only this fiscal year (April to March), e.g. 2026 for 令和8年度.",
)
@click.option(
    "--month",
    type=click.IntRange(1, 12),
    default=None,
    help="Only this month of the fiscal year (needs --fy).",
)
@on_option
@json_option("Write JSON to standard output.")
@lang_option
@as_option
@with_appcontext
def unmet(level: str, fy: int | None, month: int | None, on: Any, as_json: bool) -> None:
    """Count unmet needs and ended referrals per district (or area, municipality), category and reason (read only)."""
    from directory.fiscal import FiscalPeriodError
    from directory.taxonomy import load_taxonomy

    try:
        rows = unmet_report(database(), actor(), level=level, on=_day(on), fy=fy, month=month)
    except FiscalPeriodError as exc:
        fail(describe(exc), code=2)
    except AccessDenied as exc:
        fail(describe(exc))
    if as_json:
        click.echo(json.dumps([r.as_json() for r in rows], ensure_ascii=False))
        return
    taxonomy = load_taxonomy()
    for r in rows:
        label = taxonomy[r.category].label(lang()) if r.category in taxonomy else r.category
        click.echo(f"{r.name}\t{label}\t{_label(r.reason)}\t{r.count}")


COMMANDS: tuple[click.Command, ...] = (match, unmet)
