"""``tsunagu map resident|coordinator|unmet``: map files that work offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from directory.fiscal import today_in_japan
from web.cli._common import (
    F,
    _,
    actor,
    as_option,
    database,
    describe,
    fail,
    lang,
    lang_option,
    on_option,
)
from web.services import AccessDenied, require_staff
from web.services import unmet as unmet_service

map_ = AppGroup("map", help="Maps (HTML files that work offline: every asset is inlined).")


def _map_options(func: F) -> F:
    func = lang_option(func)
    func = as_option(func)
    func = click.option(
        "-o",
        "--output",
        type=click.Path(path_type=Path),
        required=True,
        help="The HTML file to write (with --pdf, the PDF).",
    )(func)
    return click.option(
        "--area", "area", default=None, help="The code of a district, such as a daily living area."
    )(func)


def _credits_from(path: Path | None) -> list[Any]:
    """Data credits for a published map: ``--credits FILE.json`` (a list like
    seeds/credits.json) for another municipality's data, else the demo seeds' credits."""
    if path is not None:
        try:
            return list(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            fail(_("{path}: cannot read credits: {error}", path=path, error=exc))
    from directory.demo import credits

    return credits()


def _map_scope(session: Any, area: str | None, *, public: bool) -> tuple[Any, Any, str]:
    from directory.map_data import (
        UnknownAreaError,
        coordinator_resources,
        map_districts,
        public_resources,
    )

    try:
        read = public_resources if public else coordinator_resources
        resources = read(session, area_code=area)
        districts = map_districts(session, area_code=area)
    except UnknownAreaError:
        fail(_("no area with code {area}", area=area))
    if area is None:  # the whole municipality
        name = next((d.name for d in districts if d.parent is None), "")
    else:
        name = next((d.name for d in districts if d.code == area), area)
    return resources, districts, name


def _category_codes(categories: tuple[str, ...]) -> tuple[str, ...]:
    """``--category`` values (codes, labels or synonyms) as taxonomy codes; an unknown one
    is refused with the suggestions the importer gives."""
    from directory.errors import UnknownCategoryError
    from directory.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    codes = []
    for text in categories:
        try:
            codes.append(taxonomy.resolve(text).code)
        except UnknownCategoryError as exc:
            fail(describe(exc), code=2)
    return tuple(dict.fromkeys(codes))


def _warn_if_long(
    pages: int, area: str | None, districts: Any, resources: Any, categories: tuple[str, ...]
) -> None:
    """A handout longer than a folded sheet holds is hard to hand out: say so, and how to
    split it (:func:`web.handouts.split_advice`: the public pages give the same advice)."""
    from web.handouts import split_advice

    split = split_advice(pages, area, districts, resources, categories, lang())
    if split is None:
        return
    message = _(
        "warning: the handout has {pages} pages, more than one handout holds ({limit}).",
        pages=split.pages,
        limit=split.limit,
    )
    codes = ", ".join(f"{code}（{name}）" for code, name in split.parts)
    if split.by == "area":
        message += " " + _(
            "Split it into one handout per area: tsunagu map resident --pdf --area CODE "
            "with each of {codes}",
            codes=codes,
        )
    elif split.by == "kind":
        message += " " + _(
            "Split it into one handout per kind: add --category CODE with each of {codes}",
            codes=codes,
        )
    click.echo(message, err=True)


def _write_map(m: Any, output: Path) -> None:
    from maps import standalone_html

    output.write_text(standalone_html(m), encoding="utf-8")
    click.echo(_("map written to {output}", output=output), err=True)


@map_.command("resident")
@_map_options
@click.option(
    "--pdf", "as_pdf", is_flag=True, help="An A4 PDF for printing (the map and a numbered list)."
)
@click.option(
    "--credits",
    "credits_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Data credits (JSON).",
)
@click.option(
    "--category",
    "categories",
    multiple=True,
    help="Only resources of this kind (code or Japanese name; repeatable), e.g. to split a "
    "long handout.",
)
def map_resident(
    area: str | None,
    output: Path,
    as_pdf: bool,
    credits_file: Path | None,
    categories: tuple[str, ...],
) -> None:
    """The residents' resource map (public, active resources only; no personal information).
    Without --area, the whole municipality."""
    db = database()
    credits = _credits_from(credits_file)
    codes = _category_codes(categories)
    with db.read() as session:
        resources, districts, name = _map_scope(session, area, public=True)
    if codes:
        from web.handouts import of_kinds

        resources = of_kinds(resources, codes)
    title = _("Community resources: {name}", name=name)
    if as_pdf:
        from maps.pdf import JapaneseFontMissingError, page_count, resident_pdf

        try:
            data = resident_pdf(
                resources,
                districts,
                credits=credits,
                title=title,
                as_of=today_in_japan(),
                lang=lang(),
            )
        except JapaneseFontMissingError as exc:
            fail(str(exc))
        output.write_bytes(data)
        click.echo(_("PDF written to {output}", output=output), err=True)
        _warn_if_long(page_count(data), area, districts, resources, codes)
        return
    from maps import resident_map

    _write_map(
        resident_map(
            resources,
            districts,
            credits=credits,
            title=title,
            as_of=today_in_japan(),
            lang=lang(),
        ),
        output,
    )


@map_.command("coordinator")
@_map_options
def map_coordinator(area: str | None, output: Path) -> None:
    """The staff map (every resource, paused and private ones too: do not hand it out)."""
    from maps import coordinator_map

    db = database()
    try:
        require_staff(actor())
    except AccessDenied as exc:
        fail(describe(exc))
    with db.read() as session:
        resources, districts, name = _map_scope(session, area, public=False)
    title = (
        _("Community resources (staff): {name}", name=name)
        if area
        else _("Community resources (staff)")
    )
    _write_map(coordinator_map(resources, districts, title=title, lang=lang()), output)


@map_.command("unmet")
@_map_options
@on_option
@click.option(
    "--category", default=None, help="Only this category (a parent category includes its children)."
)
@click.option("--credits", "credits_file", type=click.Path(path_type=Path), default=None)
def map_unmet(
    area: str | None, output: Path, on: Any, category: str | None, credits_file: Path | None
) -> None:
    """The map of unmet needs per district (for the 協議体: 1–2 needs are shown as “a few”; read only)."""
    from directory.taxonomy import load_taxonomy
    from maps import unmet_map

    code = None
    if category:
        try:
            code = load_taxonomy().resolve(category).code
        except ValueError as exc:
            fail(str(exc))
    db = database()
    day = on.date() if on else today_in_japan()
    try:
        counts = unmet_service(db, actor(), level="district", on=day)
    except AccessDenied as exc:
        fail(describe(exc))
    with db.read() as session:
        _resources, districts, name = _map_scope(session, area, public=True)
    credits = [
        c.get("credit", c) if isinstance(c, dict) else c for c in _credits_from(credits_file)
    ]
    title = (
        _("Unmet needs for life support by district: {name}", name=name)
        if area
        else _("Unmet needs for life support (by district)")
    )
    _write_map(
        unmet_map(
            [c.as_json() for c in counts],
            districts,
            category=code,
            title=title,
            as_of=day,
            credits=credits,
            lang=lang(),
        ),
        output,
    )


COMMANDS = (map_,)
