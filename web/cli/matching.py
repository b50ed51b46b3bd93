"""``tsunagu match`` and ``tsunagu unmet``: needs against the directory."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click
from flask.cli import with_appcontext

from matching.reasons import unmet_label
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
    on_option,
)
from web.services import AccessDenied, NotFoundForActor
from web.services import match as match_service
from web.services import unmet as unmet_service


def _label(code: str) -> str:
    return unmet_label(code, lang())


def _day(on: Any) -> dt.date:
    return on.date() if on is not None else dt.date.today()


@click.command("match")
@click.option(
    "--need", "need_ids", multiple=True, help="ニーズの id（複数可。省略時は未対応の全件）"
)
@click.option("--top", default=5, show_default=True, type=click.IntRange(1, 100))
@on_option
@json_option("DATA_FORMATS §5 の JSON で標準出力へ")
@lang_option
@as_option
@with_appcontext
def match(need_ids: tuple[str, ...], top: int, on: Any, as_json: bool) -> None:
    """ニーズに合う地域資源を、理由つきで順位づけします（提案として記録し、監査ログに残します）。"""
    from matching.engine import result_to_json

    try:
        matched = match_service(database(), actor(), need_ids, on=_day(on), top=top)
    except NotFoundForActor as exc:
        fail(_("no such need: {need}", need=exc))
    except AccessDenied as exc:
        fail(describe(exc))
    if as_json:
        click.echo(json.dumps([result_to_json(r) for r in matched.results], ensure_ascii=False))
        return
    for r in matched.results:
        if r.unmet:
            reason = _label(r.unmet_reason or "")
            near = (
                f"（最も近い候補: {r.near_miss.name} — {'、'.join(r.near_miss.reasons)}）"
                if r.near_miss and lang() == "ja"
                else ""
            )
            click.echo(f"{r.need_id}: " + _("unmet: {reason}{near}", reason=reason, near=near))
            continue
        click.echo(f"{r.need_id}:")
        for rank, m in enumerate(r.matches, start=1):
            click.echo(
                f"  {rank}. {m.name} [{m.external_id}] {m.score:.2f}  {'・'.join(m.reasons)}"
            )


@click.command("unmet")
@click.option(
    "--level",
    type=click.Choice(["district", "area", "municipality"]),
    default="district",
    show_default=True,
)
@on_option
@json_option("JSON で標準出力へ")
@lang_option
@as_option
@with_appcontext
def unmet(level: str, on: Any, as_json: bool) -> None:
    """未充足ニーズを地区（または圏域・市町村）・種別・理由ごとに数えます（読み取りのみ）。"""
    from directory.taxonomy import load_taxonomy

    try:
        rows = unmet_service(database(), actor(), level=level, on=_day(on))
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
