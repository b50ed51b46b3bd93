"""``tsunagu import|export|schedule|directory|report …``: files in and out."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from directory.errors import DirectoryError, InvalidInputError, Problem
from directory.geography import ImportResult, import_districts, import_venues
from web.cli._common import (
    F,
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
)
from web.services import AccessDenied, import_needs_file, require_directory_editor, require_staff

import_ = AppGroup("import", help="Import files.")
export = AppGroup("export", help="Exports.")
schedule = AppGroup("schedule", help="Schedules.")
directory_group = AppGroup("directory", help="Directory checks.")


def report_import(path: Path, result: ImportResult, as_json: bool, *, dry_run: bool) -> None:
    """The summary (and warnings) of an import on stderr; ``--json`` on stdout."""
    if as_json:
        click.echo(json.dumps(result.as_json(lang()), ensure_ascii=False))
    lines = warning_lines(str(path), result.warnings)  # a repeated warning is one line
    for line in lines[:MAX_PRINTED_ERRORS]:
        click.echo(line, err=True)
    _more(len(lines))
    rejected = getattr(result, "errors", [])  # rows left out by --skip-invalid
    for problem in rejected[:MAX_PRINTED_ERRORS]:
        click.echo(problem.format(str(path), lang()), err=True)
    _more(len(rejected))
    summary = _(
        "{path}: {created} created, {updated} updated, {unchanged} unchanged",
        path=path,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
    )
    if getattr(result, "rejected", 0):
        summary += _(", {rejected} rejected", rejected=result.rejected)  # type: ignore[attr-defined]
    if dry_run:
        summary += _(" (dry run: nothing was written)")
    click.echo(summary, err=True)


#: A warning repeated on more rows than this is printed once, with its count and first rows.
SUMMARY_AFTER = 5


def warning_lines(path: str, warnings: list[Problem]) -> list[str]:
    """Warnings for a person: the same warning (code, column and reason) on more than
    :data:`SUMMARY_AFTER` rows is one line with its count and first rows, not 3,000 lines
    (``--json`` keeps every one). In the order each first appears."""
    groups: dict[tuple[str, str | None, str], list[Problem]] = {}
    for warning in warnings:
        groups.setdefault((warning.code, warning.column, warning.reason(lang())), []).append(
            warning
        )
    lines: list[str] = []
    for (_code, _column, reason), items in groups.items():
        if len(items) <= SUMMARY_AFTER:
            lines += [_("warning: ") + w.format(path, lang()) for w in items]
            continue
        where = ":".join(p for p in (path, items[0].column) if p)
        first = ", ".join(
            str(w.row if w.row is not None else w.feature) for w in items[:SUMMARY_AFTER]
        )
        lines.append(
            _("warning: ")
            + _(
                "{where}: {reason} ({count} rows: {first}, …)",
                where=where,
                reason=reason,
                count=format(len(items), ","),
                first=first,
            )
        )
    return lines


#: A file can hold millions of bad cells: stderr shows this many errors (and warnings),
#: then how many more; ``--json`` carries at most MAX_JSON_ERRORS of each, with the
#: totals in ``error_count`` / ``warning_count`` (README, "Hostile files").
MAX_PRINTED_ERRORS = 200
MAX_JSON_ERRORS = 1000


def _report_invalid(path: Path, exc: InvalidInputError, as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "created": 0,
                    "updated": 0,
                    "unchanged": 0,
                    "warnings": [w.as_json(lang()) for w in exc.warnings[:MAX_JSON_ERRORS]],
                    "warning_count": len(exc.warnings),
                    "errors": [p.as_json(lang()) for p in exc.problems[:MAX_JSON_ERRORS]],
                    "error_count": len(exc.problems),
                },
                ensure_ascii=False,
            )
        )
    for problem in exc.problems[:MAX_PRINTED_ERRORS]:
        click.echo(problem.format(str(path), lang()), err=True)
    _more(len(exc.problems))
    lines = warning_lines(str(path), exc.warnings)  # a repeated warning is one line
    for line in lines[:MAX_PRINTED_ERRORS]:
        click.echo(line, err=True)
    _more(len(lines))
    click.echo(
        _("{path}: {count} error(s); nothing was imported", path=path, count=len(exc.problems)),
        err=True,
    )


def _more(total: int) -> None:
    """「ほか N 件」 after the first :data:`MAX_PRINTED_ERRORS` lines printed."""
    if total > MAX_PRINTED_ERRORS:
        more = format(total - MAX_PRINTED_ERRORS, ",")
        click.echo(_("… and {count} more", count=more), err=True)


def _run_import(
    importer: Callable[..., ImportResult],
    path: Path,
    as_json: bool,
    dry_run: bool,
    *,
    progress: bool = False,
) -> ImportResult:
    """A directory import (districts, venues, resources): tier 1, admin or the system."""
    db = database()

    def work() -> ImportResult:
        require_directory_editor(actor())
        with db.write() as session:
            if progress:
                result = importer(session, path, progress=ProgressBar())
            else:
                result = importer(session, path)
            if dry_run:
                session.rollback()
        return result

    return _reported(path, as_json, dry_run, work)


def _reported(
    path: Path, as_json: bool, dry_run: bool, work: Callable[[], ImportResult]
) -> ImportResult:
    """Run an import and report it: every problem of a bad file (exit 1), a refusal or a
    database problem as one message (exit 1), else the summary."""
    try:
        result = work()
    except InvalidInputError as exc:
        _report_invalid(path, exc, as_json)
        sys.exit(1)
    except (DirectoryError, AccessDenied) as exc:
        fail(describe(exc))
    report_import(path, result, as_json, dry_run=dry_run)
    return result


def _import_options(func: F) -> F:
    func = click.option("--dry-run", is_flag=True, help="Check only (write nothing).")(func)
    func = json_option()(func)
    func = lang_option(func)
    func = as_option(func)
    return click.argument("file", type=click.Path(path_type=Path))(func)


@import_.command("districts")
@_import_options
def import_districts_cmd(file: Path, as_json: bool, dry_run: bool) -> None:
    """Import districts (GeoJSON, DATA_FORMATS §2), updating them by code."""
    _run_import(import_districts, file, as_json, dry_run)


@import_.command("venues")
@_import_options
def import_venues_cmd(file: Path, as_json: bool, dry_run: bool) -> None:
    """Import venues (GeoJSON Points) and find their districts."""
    _run_import(import_venues, file, as_json, dry_run)


@import_.command("resources")
@_import_options
@click.option(
    "--columns",
    "columns_file",
    type=click.Path(path_type=Path),
    help='A column map in JSON: {{"their column": "§3 column"}}.',
)
@click.option(
    "--skip-invalid", is_flag=True, help="Write the valid rows and report every rejected one."
)
@click.option(
    "--rejects",
    type=click.Path(path_type=Path),
    help="Write the rejected rows, with an エラー内容 column, to this CSV (with --skip-invalid).",
)
@click.option("--id-prefix", help="Put this before every ID of the file (e.g. 04445-kaigo).")
@click.option(
    "--replace",
    is_flag=True,
    help="Let a row replace a stored resource of the same ID with another name and place.",
)
def import_resources_cmd(
    file: Path,
    as_json: bool,
    dry_run: bool,
    columns_file: Path | None,
    skip_invalid: bool,
    rejects: Path | None,
    id_prefix: str | None,
    replace: bool,
) -> None:
    """Import resources (CSV, XLSX or GeoJSON, DATA_FORMATS §3 and §3a): every row, or nothing.

    With --skip-invalid the valid rows are written and every rejected row is reported
    (--rejects OUT.csv writes those rows, to fix and import again).
    """
    from directory.resources import ResourceImportResult, import_resources, read_column_map

    if rejects is not None and not skip_invalid:
        fail(_("--rejects needs --skip-invalid"), code=2)
    columns = None
    if columns_file is not None:
        try:
            columns = read_column_map(columns_file)
        except InvalidInputError as exc:
            _report_invalid(columns_file, exc, as_json)
            sys.exit(1)
    importer = functools.partial(
        import_resources,
        columns=columns,
        skip_invalid=skip_invalid,
        keep_rejects=rejects is not None,
        id_prefix=id_prefix,
        replace=replace,
    )
    result = _run_import(importer, file, as_json, dry_run, progress=True)
    if rejects is not None and isinstance(result, ResourceImportResult):
        rejects.write_bytes(result.rejects_csv(lang()))
        click.echo(
            _("{path}: {count} rejected row(s) written", path=rejects, count=result.rejected),
            err=True,
        )


@import_.command("needs")
@_import_options
def import_needs_cmd(file: Path, as_json: bool, dry_run: bool) -> None:
    """Import needs (JSON, DATA_FORMATS §4): every need, or nothing.

    Needs are sensitive personal information: their values never appear in errors either.
    With --as LOGIN only needs in that account's areas can be imported. The import is
    recorded in the audit log.
    """
    db = database()
    _reported(file, as_json, dry_run, lambda: import_needs_file(db, actor(), file, dry_run=dry_run))


@export.command("resources")
@click.option(
    "--format", "fmt", required=True, type=click.Choice(["csv", "xlsx", "geojson", "hsds", "ics"])
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Output file (standard output when omitted).",
)
@click.option(
    "--all", "include_private", is_flag=True, help="Include private and ended resources too."
)
@click.option("--resource", "resource_id", help="ics: the calendar of this resource (ID) only.")
@click.option("--district", "district_code", help="ics: the calendar of this district (code).")
@lang_option
@as_option
def export_resources_cmd(
    fmt: str,
    output: Path | None,
    include_private: bool,
    resource_id: str | None,
    district_code: str | None,
) -> None:
    """Export resources (published ones only; --all adds private and ended ones).

    csv/xlsx are the import format (DATA_FORMATS §3); geojson, hsds (Open Referral HSDS
    3.0 as its API returns services) and ics (iCalendar) are the open formats. ics can be
    one resource (--resource ID) or one district (--district CODE). Large exports are
    written as they are made, with progress on a terminal's stderr. Needs are never
    included.
    """
    from directory import exports

    if fmt == "xlsx" and output is None:
        fail(_("xlsx needs -o FILE"), code=2)
    if (resource_id or district_code) and fmt != "ics":
        fail(_("--resource and --district are for --format ics"), code=2)
    if resource_id and district_code:
        fail(_("give --resource or --district, not both"), code=2)
    db = database()
    if include_private:
        try:
            require_staff(actor())
        except AccessDenied as exc:
            fail(describe(exc))
    bar = ProgressBar()

    def progress(done: int, total: int) -> None:
        bar("write", done, total)

    counted = [0]

    def counting(chunks: Iterator[bytes], kind: str) -> Iterator[bytes]:
        for chunk in chunks:
            if kind == "ics":
                counted[0] += chunk.count(b"BEGIN:VEVENT")
            elif kind == "geojson" and chunk.startswith((b'{"type": "Feature"', b",\n")):
                counted[0] += 1
            yield chunk

    with db.read() as session:
        chunks: Iterator[bytes]
        try:
            if fmt in ("csv", "xlsx"):
                counted[0] = exports.count_published(session, include_private=include_private)
                table = exports.iter_resources_csv if fmt == "csv" else exports.iter_resources_xlsx
                chunks = table(session, include_private=include_private, progress=progress)
            elif fmt == "geojson":
                chunks = counting(
                    exports.iter_resources_geojson(
                        session, include_private=include_private, progress=progress
                    ),
                    "geojson",
                )
            elif fmt == "hsds":
                counted[0] = exports.count_published(session, include_private=include_private)
                chunks = exports.iter_resources_hsds(
                    session, include_private=include_private, progress=progress
                )
            elif resource_id:
                data = exports.resource_ics(session, resource_id, include_private=include_private)
                chunks = counting(iter([data]), "ics")
            elif district_code:
                data = exports.district_ics(session, district_code, include_private=include_private)
                chunks = counting(iter([data]), "ics")
            else:
                chunks = counting(
                    exports.iter_resources_ics(
                        session, include_private=include_private, progress=progress
                    ),
                    "ics",
                )
            _write_chunks(chunks, output)
        except exports.ExportNotFoundError:
            if resource_id:
                fail(
                    _(
                        "no published resource with ID {id} (--all includes private ones)",
                        id=resource_id,
                    )
                )
            fail(_("no district with code {code}", code=district_code))
    if output is not None:
        click.echo(_("{output}: {count} items written", output=output, count=counted[0]), err=True)


def _write_chunks(chunks: Iterator[bytes], output: Path | None) -> None:
    """Each chunk as it comes: to stdout, or to ``FILE.part`` renamed to FILE at the end
    (an export that fails half-way never leaves a half file under the real name)."""
    if output is None:
        out = sys.stdout.buffer
        for chunk in chunks:
            out.write(chunk)
        out.flush()
        return
    part = output.with_name(output.name + ".part")
    try:
        with part.open("wb") as f:
            for chunk in chunks:
                f.write(chunk)
        part.replace(output)
    finally:
        part.unlink(missing_ok=True)


@schedule.command("expand", with_appcontext=False)
@click.argument("text")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The day the text was imported: 隔週 (every other week) with no date written counts "
    "its weeks from its first day on or after it.",
)
@json_option("Write JSON to standard output.")
@lang_option
def schedule_expand(text: str, start: Any, end: Any, since: Any, as_json: bool) -> None:
    """Expand a schedule text (days, times, notes) into the dates and times of a period."""
    from directory.schedules import describe as describe_schedule
    from directory.schedules import expand, parse_schedule

    if end < start:
        fail(_("--to must not be before --from"), code=2)
    parsed = parse_schedule(text, anchor_from=since.date() if since else None)
    if not parsed.understood:
        fragments = "、".join(parsed.not_understood) or text
        fail(_("cannot understand the schedule: {fragments}", fragments=fragments))
    occurrences = expand(parsed, start.date(), end.date())
    payload = [
        {"start": _iso(o.start), "end": _iso(o.end) if o.end is not None else None}
        for o in occurrences
    ]
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    click.echo(describe_schedule(parsed, lang()))
    for item in payload:
        click.echo(f"{item['start']}" + (f" – {item['end']}" if item["end"] else ""))


def _iso(value: Any) -> str:
    if hasattr(value, "hour"):
        return str(value.strftime("%Y-%m-%dT%H:%M"))
    return str(value.isoformat())


@directory_group.command("duplicates")
@json_option("Write the pairs as JSON to standard output.")
@lang_option
def directory_duplicates(as_json: bool) -> None:
    """Likely duplicate resources (the same one entered twice), best first, each with a
    score and why: similar names (kana, width and spelling variants), venues within 300 m,
    the same telephone number or organisation. Ended resources are left out."""
    from directory.duplicates import find_duplicates

    bar = ProgressBar()
    with database().read() as session:
        pairs = find_duplicates(session, progress=lambda d, n: bar("check", d, n))
    if as_json:
        click.echo(json.dumps([p.as_json(lang()) for p in pairs], ensure_ascii=False))
        return
    for p in pairs:
        click.echo(f"{p.score:.2f}\t{p.first} {p.first_name}\t{p.second} {p.second_name}")
        click.echo("\t" + " / ".join(p.describe(lang())))
    click.echo(_("{count} likely duplicate pairs", count=len(pairs)), err=True)


COMMANDS = (import_, export, schedule, directory_group)
