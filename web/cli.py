"""The ``tsunagu`` command line (DATA_FORMATS §7 is its contract).

Exit codes: 0 success, 1 bad input (with ``FILE:ROW:COLUMN: reason`` lines on stderr),
2 misuse. ``--json`` output goes to stdout alone; progress and logs go to stderr.
Messages are Japanese unless ``--lang en`` or ``LANG=en_…``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, NoReturn, TypeVar

import click
from sqlalchemy import Engine

from directory.db import make_engine, make_sessionmaker, transaction
from directory.errors import InvalidInputError
from directory.geography import ImportResult, import_districts, import_venues
from directory.schema import SchemaError, require_current, upgrade

F = TypeVar("F", bound=Callable[..., Any])

NOT_YET = {
    "ja": "このコマンドはまだ実装されていません",
    "en": "this command is not implemented yet",
}


def _default_lang() -> str:
    env = os.environ.get("LC_ALL") or os.environ.get("LANG") or ""
    return "en" if env.lower().startswith("en") else "ja"


def _lang_option(func: F) -> F:
    """``--lang ja|en`` on every command, so it may follow the arguments as users type it."""

    def store(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            ctx.ensure_object(dict)["lang"] = value

    return click.option(
        "--lang", type=click.Choice(["ja", "en"]), expose_value=False, callback=store,
        is_eager=True, help="表示言語 / message language",
    )(func)


def _lang() -> str:
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if isinstance(ctx.obj, dict) and "lang" in ctx.obj:
            return str(ctx.obj["lang"])
        ctx = ctx.parent
    return _default_lang()


def _t(ja: str, en: str) -> str:
    return en if _lang() == "en" else ja


def _engine() -> Engine:
    """The engine for DATABASE_URL, closed when the command ends (no connection leaks)."""
    engine = make_engine()
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.find_root().call_on_close(engine.dispose)
    return engine


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def _ready_engine() -> Engine:
    engine = _engine()
    try:
        require_current(engine)
    except SchemaError as exc:
        _fail(
            str(exc) if _lang() == "ja"
            else "the database is not up to date: run `tsunagu db upgrade`"
        )
    return engine


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@_lang_option
def main() -> None:
    """つなぐ: 生活支援コーディネーターのための地域資源ディレクトリとマッチング。

    データベースは DATABASE_URL（未設定なら instance/ の SQLite ファイル）。
    """


# ------------------------------------------------------------------------------- db


@main.group()
def db() -> None:
    """データベースの作成・更新 / create and migrate the database."""


@db.command("upgrade")
@_lang_option
def db_upgrade() -> None:
    """データベースを作成・最新化します（Alembic）。"""
    engine = _engine()
    upgrade(engine)
    click.echo(_t("データベースを最新の状態にしました", "the database is up to date"), err=True)


# ----------------------------------------------------------------------------- imports


def _report(path: Path, result: ImportResult, as_json: bool, *, dry_run: bool) -> None:
    lang = _lang()
    if as_json:
        click.echo(json.dumps(result.as_json(lang), ensure_ascii=False))
    for warning in result.warnings:
        click.echo(
            _t("警告: ", "warning: ") + warning.format(str(path), lang), err=True
        )
    summary = _t(
        f"{path}: 新規 {result.created} 件・更新 {result.updated} 件・変更なし {result.unchanged} 件",
        f"{path}: {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged",
    )
    if dry_run:
        summary += _t("（試行のみ: 何も書き込んでいません）", " (dry run: nothing was written)")
    click.echo(summary, err=True)


class _ProgressBar:
    """A progress bar on stderr for long imports (only when a person is watching)."""

    LABELS: ClassVar[dict[str, tuple[str, str]]] = {
        "check": ("検査中", "checking"), "write": ("書き込み中", "writing"),
    }

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}
        self.enabled = sys.stderr.isatty()

    def __call__(self, step: str, done: int, total: int) -> None:
        if not self.enabled or total < 2000:
            return
        bar = self.bars.get(step)
        if bar is None:
            ja, en = self.LABELS.get(step, (step, step))
            bar = click.progressbar(length=total, label=_t(ja, en), file=sys.stderr)
            bar.__enter__()
            self.bars[step] = bar
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)


def _run_import(
    importer: Callable[..., ImportResult], path: Path, as_json: bool, dry_run: bool,
    *, progress: bool = False,
) -> None:
    engine = _ready_engine()
    lang = _lang()
    try:
        with transaction(engine) as session:
            if progress:
                result = importer(session, path, progress=_ProgressBar())
            else:
                result = importer(session, path)
            if dry_run:
                session.rollback()
    except InvalidInputError as exc:
        if as_json:
            click.echo(json.dumps({
                "created": 0, "updated": 0, "unchanged": 0,
                "warnings": [w.as_json(lang) for w in exc.warnings],
                "errors": [p.as_json(lang) for p in exc.problems],
            }, ensure_ascii=False))
        click.echo(exc.describe(lang), err=True)
        for warning in exc.warnings:
            click.echo(_t("警告: ", "warning: ") + warning.format(str(path), lang), err=True)
        click.echo(
            _t(f"{path}: {len(exc.problems)} 件の誤りがあるため、何も読み込んでいません",
               f"{path}: {len(exc.problems)} error(s); nothing was imported"),
            err=True,
        )
        sys.exit(1)
    _report(path, result, as_json, dry_run=dry_run)


def _import_options(func: F) -> F:
    func = click.option("--dry-run", is_flag=True, help="検査のみ（書き込まない）")(func)
    func = click.option("--json", "as_json", is_flag=True, help="結果を JSON で標準出力へ")(func)
    func = _lang_option(func)
    return click.argument("file", type=click.Path(path_type=Path))(func)


@main.group("import")
def import_() -> None:
    """ファイルの読み込み / import files."""


@import_.command("districts")
@_import_options
def import_districts_cmd(file: Path, as_json: bool, dry_run: bool) -> None:
    """地区（GeoJSON, DATA_FORMATS §2）を読み込みます。code で更新します。"""
    _run_import(import_districts, file, as_json, dry_run)


@import_.command("venues")
@_import_options
def import_venues_cmd(file: Path, as_json: bool, dry_run: bool) -> None:
    """会場（GeoJSON の Point）を読み込み、地区を判定します。"""
    _run_import(import_venues, file, as_json, dry_run)


@import_.command("resources")
@_import_options
def import_resources_cmd(file: Path, as_json: bool, dry_run: bool) -> None:
    """地域資源（CSV/XLSX, DATA_FORMATS §3）を読み込みます。全行か、何も読み込まないかです。"""
    from directory.resources import import_resources

    _run_import(import_resources, file, as_json, dry_run, progress=True)


@import_.command("needs")
@_import_options
def import_needs_cmd(file: Path, as_json: bool, dry_run: bool) -> None:
    """ニーズ（JSON, DATA_FORMATS §4）を読み込みます。全件か、何も読み込まないかです。

    ニーズは要配慮個人情報です。text（相談内容）はエラー表示にも出しません。
    """
    from matching.needs import import_needs

    _run_import(import_needs, file, as_json, dry_run)


# ----------------------------------------------------------------------------- export


@main.group("export")
def export() -> None:
    """書き出し / exports."""


@export.command("resources")
@click.option("--format", "fmt", required=True,
              type=click.Choice(["csv", "xlsx", "geojson", "hsds", "ics"]))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="出力先（省略時は標準出力）")
@click.option("--all", "include_private", is_flag=True, help="非公開の資源も含める")
@_lang_option
def export_resources_cmd(fmt: str, output: Path | None, include_private: bool) -> None:
    """地域資源を書き出します（公開の資源のみ。--all で全件）。

    csv/xlsx は取り込みと同じ形式（DATA_FORMATS §3）、geojson・hsds（Open Referral HSDS
    3.0）・ics（iCalendar）は公開用の形式です。ニーズは決して含まれません。
    """
    from directory import exports
    from directory.resources import export_rows, write_csv, write_xlsx

    if fmt == "xlsx" and output is None:
        _fail(_t("xlsx は -o でファイルを指定してください", "xlsx needs -o FILE"), code=2)
    engine = _ready_engine()
    with make_sessionmaker(engine)() as session:
        if fmt in ("csv", "xlsx"):
            header, rows = export_rows(session, include_private=include_private)
            data = write_csv(header, rows) if fmt == "csv" else write_xlsx(header, rows)
            count = len(rows)
        elif fmt == "geojson":
            doc = exports.resources_geojson(session, include_private=include_private)
            data = json.dumps(doc, ensure_ascii=False, indent=1).encode()
            count = len(doc["features"])
        elif fmt == "hsds":
            doc = exports.resources_hsds(session, include_private=include_private)
            data = json.dumps(doc, ensure_ascii=False, indent=1).encode()
            count = len(doc["services"])
        else:
            data = exports.resources_ics(session, include_private=include_private)
            count = data.count(b"BEGIN:VEVENT")
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)
        click.echo(_t(f"{output}: {count} 件を書き出しました", f"{output}: {count} items written"),
                   err=True)


# ---------------------------------------------------------------------------- schedule


@main.group("schedule")
def schedule() -> None:
    """予定の解釈 / schedules."""


@schedule.command("expand")
@click.argument("text")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--json", "as_json", is_flag=True, help="JSON で標準出力へ")
@_lang_option
def schedule_expand(text: str, start: Any, end: Any, as_json: bool) -> None:
    """予定の文（曜日・時間・特記事項）を、期間内の日時に展開します。"""
    from directory.schedules import describe, expand, parse_schedule

    if end < start:
        _fail(_t("--to は --from 以降の日付にしてください", "--to must not be before --from"),
              code=2)
    parsed = parse_schedule(text)
    if not parsed.understood:
        fragments = "、".join(parsed.not_understood) or text
        _fail(_t(f"予定を解釈できません: {fragments}", f"cannot understand the schedule: {fragments}"))
    occurrences = expand(parsed, start.date(), end.date())
    payload = [
        {"start": _iso(o.start), "end": _iso(o.end) if o.end is not None else None}
        for o in occurrences
    ]
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    click.echo(describe(parsed, _lang()))
    for item in payload:
        click.echo(f"{item['start']}" + (f" – {item['end']}" if item["end"] else ""))


def _iso(value: Any) -> str:
    if hasattr(value, "hour"):
        return value.strftime("%Y-%m-%dT%H:%M")
    return value.isoformat()


# ------------------------------------------------------------------------------- demo


@main.group()
def demo() -> None:
    """デモの町 / the demo town."""


@demo.command("load")
@click.option("--json", "as_json", is_flag=True, help="結果を JSON で標準出力へ")
@_lang_option
def demo_load(as_json: bool) -> None:
    """seeds/ のデモの町を読み込みます（何度実行しても同じ結果）。"""
    from directory.demo import SEEDS_DIR, demo_manifest, load_demo

    engine = _engine()
    upgrade(engine)
    lang = _lang()
    manifest = demo_manifest()
    try:
        with transaction(engine) as session:
            results = load_demo(session)
            if "needs" in manifest:  # matching's data: loaded here to keep directory → matching out
                from matching.needs import import_needs

                results["needs"] = import_needs(session, SEEDS_DIR / manifest["needs"])
    except InvalidInputError as exc:
        _fail(exc.describe(lang))
    if as_json:
        click.echo(json.dumps({k: r.as_json(lang) for k, r in results.items()},
                              ensure_ascii=False))
    for name, result in results.items():
        _report(SEEDS_DIR / manifest[name], result, False, dry_run=False)


# ---------------------------------------------------------------------------- matching


def _on_option(func: F) -> F:
    return click.option(
        "--on", "on", type=click.DateTime(["%Y-%m-%d"]), default=None,
        help="この日から4週間の予定で判定（既定: 今日）",
    )(func)


def _scored(need_ids: tuple[str, ...], on: Any, top: int, *, record: bool) -> tuple[Any, Any]:
    from matching.service import (
        SnapshotCache,
        UnknownNeedError,
        load_needs,
        match_needs,
        record_proposals,
    )

    engine = _ready_engine()
    day = on.date() if on is not None else dt.date.today()
    with transaction(engine) as session:
        try:
            needs = load_needs(session, need_ids)
        except UnknownNeedError as exc:
            _fail(_t(f"ニーズが見つかりません: {exc}", f"no such need: {exc}"))
        results = match_needs(session, SnapshotCache(), needs, on=day, top=top)
        if record:
            record_proposals(session, needs, results)
        session.expunge_all()
    return needs, results


@main.command()
@click.option("--need", "need_ids", multiple=True, help="ニーズの id（複数可。省略時は未対応の全件）")
@click.option("--top", default=5, show_default=True, type=click.IntRange(1, 100))
@_on_option
@click.option("--json", "as_json", is_flag=True, help="DATA_FORMATS §5 の JSON で標準出力へ")
@_lang_option
def match(need_ids: tuple[str, ...], top: int, on: Any, as_json: bool) -> None:
    """ニーズに合う地域資源を、理由つきで順位づけします（提案として記録します）。"""
    from matching.engine import result_to_json

    _, results = _scored(need_ids, on, top, record=True)
    if as_json:
        click.echo(json.dumps([result_to_json(r) for r in results], ensure_ascii=False))
        return
    for r in results:
        if r.unmet:
            reason = _UNMET_LABELS.get(r.unmet_reason or "", r.unmet_reason)
            near = f"（最も近い候補: {r.near_miss.name} — {'、'.join(r.near_miss.reasons)}）" \
                if r.near_miss else ""
            click.echo(f"{r.need_id}: " + _t(f"未充足・{reason}{near}", f"unmet: {r.unmet_reason}"))
            continue
        click.echo(f"{r.need_id}:")
        for rank, m in enumerate(r.matches, start=1):
            click.echo(f"  {rank}. {m.name} [{m.external_id}] {m.score:.2f}  {'・'.join(m.reasons)}")


_UNMET_LABELS = {
    "no_resource": "該当する資源がない", "schedule": "日時が合わない", "capacity": "定員に空きがない",
    "eligibility": "対象者の条件に合わない", "distance": "遠すぎる", "paused": "休止中の資源しかない",
}


@main.command()
@click.option("--level", type=click.Choice(["district", "area", "municipality"]),
              default="district", show_default=True)
@_on_option
@click.option("--json", "as_json", is_flag=True, help="JSON で標準出力へ")
@_lang_option
def unmet(level: str, on: Any, as_json: bool) -> None:
    """未充足ニーズを地区（または圏域・市町村）・種別・理由ごとに数えます。"""
    from directory.taxonomy import load_taxonomy
    from matching.service import unmet_counts

    engine = _ready_engine()
    needs, results = _scored((), on, 1, record=False)
    with make_sessionmaker(engine)() as session:
        rows = unmet_counts(session, needs, results, level=level)
    if as_json:
        click.echo(json.dumps([r.as_json() for r in rows], ensure_ascii=False))
        return
    taxonomy = load_taxonomy()
    for r in rows:
        label = taxonomy[r.category].label(_lang()) if r.category in taxonomy else r.category
        click.echo(f"{r.name}\t{label}\t{_UNMET_LABELS.get(r.reason, r.reason)}\t{r.count}")


# ------------------------------------------------------------------------------ serve


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug", is_flag=True)
@_lang_option
def serve(host: str, port: int, debug: bool) -> None:
    """Web アプリを起動します。"""
    from web import create_app

    create_app().run(host=host, port=port, debug=debug)


# ---------------------------------------------------------------------- not yet built


def _not_yet(name: str, group: click.Group, help_text: str) -> None:
    @group.command(
        name,
        help=help_text,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    @_lang_option
    def _cmd() -> None:
        _fail(NOT_YET["en" if _lang() == "en" else "ja"], code=2)


@main.group("map")
def map_() -> None:
    """地図 / maps (HTML files that work offline: every asset is inlined)."""


def _map_options(func: F) -> F:
    func = _lang_option(func)
    func = click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
                        help="出力する HTML（--pdf のときは PDF）ファイル")(func)
    return click.option("--area", "area", default=None, help="日常生活圏域などの地区コード")(func)


def _credits_from(path: Path | None) -> list[Any]:
    """Data credits for a published map: ``--credits FILE.json`` (a list like
    seeds/credits.json) for another municipality's data, else the demo seeds' credits."""
    if path is not None:
        try:
            return list(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            _fail(_t(f"{path}: 出典ファイルを読めません: {exc}", f"{path}: cannot read credits: {exc}"))
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
        _fail(_t(f"地域コード {area} は登録されていません", f"no area with code {area}"))
    name = next((d.name for d in districts if d.code == area), area or "")
    return resources, districts, name


def _write_map(m: Any, output: Path) -> None:
    from maps import standalone_html

    output.write_text(standalone_html(m), encoding="utf-8")
    click.echo(_t(f"{output} に地図を書き出しました", f"map written to {output}"), err=True)


@map_.command("resident")
@_map_options
@click.option("--pdf", "as_pdf", is_flag=True, help="印刷用の A4 PDF（地図と番号つき一覧）")
@click.option("--credits", "credits_file", type=click.Path(path_type=Path), default=None,
              help="データの出典（JSON）")
def map_resident(area: str | None, output: Path, as_pdf: bool, credits_file: Path | None) -> None:
    """住民向けの地域資源マップ（公開・活動中の資源のみ。個人情報は含みません）。"""
    if area is None:
        _fail(_t("--area で地域を指定してください", "give --area CODE"), code=2)
    engine = _ready_engine()
    credits = _credits_from(credits_file)
    with make_sessionmaker(engine)() as session:
        resources, districts, name = _map_scope(session, area, public=True)
    title = _t(f"{name}の地域資源マップ", f"Community resources: {name}")
    if as_pdf:
        from maps.pdf import JapaneseFontMissingError, resident_pdf

        try:
            data = resident_pdf(resources, districts, credits=credits, title=title,
                                as_of=dt.date.today())
        except JapaneseFontMissingError as exc:
            _fail(str(exc))
        output.write_bytes(data)
        click.echo(_t(f"{output} に PDF を書き出しました", f"PDF written to {output}"), err=True)
        return
    from maps import resident_map

    _write_map(resident_map(resources, districts, credits=credits, title=title,
                            as_of=dt.date.today()), output)


@map_.command("coordinator")
@_map_options
def map_coordinator(area: str | None, output: Path) -> None:
    """職員用の地図（休止中・非公開も含む全資源。外部に配らないでください）。"""
    from maps import coordinator_map

    engine = _ready_engine()
    with make_sessionmaker(engine)() as session:
        resources, districts, name = _map_scope(session, area, public=False)
    title = f"{name}の地域資源（職員用）" if area else "地域資源（職員用）"
    _write_map(coordinator_map(resources, districts, title=title), output)


@map_.command("unmet")
@_map_options
@_on_option
@click.option("--category", default=None, help="種別で絞り込み（親の種別は子を含む）")
@click.option("--credits", "credits_file", type=click.Path(path_type=Path), default=None)
def map_unmet(area: str | None, output: Path, on: Any, category: str | None,
              credits_file: Path | None) -> None:
    """未充足ニーズの地区別地図（協議体向け: 1〜2件は「少数」と表示）。"""
    from directory.taxonomy import load_taxonomy
    from maps import unmet_map
    from matching.service import unmet_counts

    code = None
    if category:
        try:
            code = load_taxonomy().resolve(category).code
        except ValueError as exc:
            _fail(str(exc))
    engine = _ready_engine()
    needs, results = _scored((), on, 1, record=False)
    with make_sessionmaker(engine)() as session:
        counts = unmet_counts(session, needs, results, level="district")
        _, districts, name = _map_scope(session, area, public=True)
    credits = [c.get("credit", c) if isinstance(c, dict) else c
               for c in _credits_from(credits_file)]
    title = f"{name}の生活支援ニーズの不足（地区別）" if area else "生活支援ニーズの不足（地区別）"
    _write_map(unmet_map([c.as_json() for c in counts], districts, category=code, title=title,
                         as_of=on.date() if on else dt.date.today(), credits=credits), output)


@main.group("report")
def report() -> None:
    """報告書 / reports."""


@main.group("directory")
def directory_group() -> None:
    """ディレクトリの点検 / directory checks."""


@main.group("user")
def user() -> None:
    """利用者アカウント / accounts."""


@main.group("audit")
def audit() -> None:
    """監査ログ / audit log."""


for _name, _group, _help in (
    ("annual", report, "年次報告（未実装）"),
    ("monthly", report, "月次報告（未実装）"),
    ("duplicates", directory_group, "重複の疑い（未実装）"),
    ("add", user, "アカウント追加（未実装）"),
    ("passwd", user, "パスワード変更（未実装）"),
    ("disable", user, "アカウント停止（未実装）"),
    ("backup", db, "バックアップ（未実装）"),
    ("restore", db, "復元（未実装）"),
    ("verify", audit, "監査ログの検証（未実装）"),
):
    _not_yet(_name, _group, _help)



if __name__ == "__main__":  # pragma: no cover
    main()
