"""One message catalogue for pages, the command line and the libraries (directory.i18n).

Every msgid the code, the templates and click use is in the catalogue; Japanese and
English are complete (no empty or fuzzy msgstr) and keep the msgid's placeholders.
"""

from __future__ import annotations

import importlib.util
import re
import string
import sys
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from directory.i18n import LANGUAGES, normalise, po_path, translate, translations

ROOT = Path(__file__).resolve().parents[1]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "update_catalogue", ROOT / "scripts" / "update_catalogue.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("update_catalogue", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def extracted() -> dict:
    return _tool().extract()


def _catalog(lang: str) -> Catalog:
    with po_path(lang).open("rb") as fp:
        return read_po(fp, locale=lang)


def placeholders(text: str) -> set[str]:
    """``{name}`` (str.format, Python) and ``%(name)s`` (Jinja, click's version) names."""
    names = {
        re.split(r"[.\[!:]", name)[0] for _, name, _, _ in string.Formatter().parse(text) if name
    }
    return names | set(re.findall(r"%\((\w+)\)", text))


def test_every_msgid_in_code_templates_and_click_is_in_the_catalogue(extracted: dict) -> None:
    for lang in LANGUAGES:
        catalog = _catalog(lang)
        missing = [k for k in extracted if (k if isinstance(k, str) else k[0]) not in catalog]
        assert not missing, (lang, missing[:10])


def test_the_catalogue_is_what_the_tool_writes() -> None:
    """Nothing stale: ``python scripts/update_catalogue.py --check`` passes."""
    tool = _tool()
    entries = tool.extract()
    for lang in LANGUAGES:
        catalog, missing = tool.build(lang, entries, {})
        assert not missing, (lang, missing[:10])
        used = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        stored = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(lang) if m.id}
        assert stored == used, (lang, sorted(stored ^ used)[:10])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_are_complete_and_keep_the_placeholders(lang: str) -> None:
    catalog = _catalog(lang)
    assert len(catalog) > 200
    for m in catalog:
        if not m.id:
            continue
        assert not m.fuzzy, m.id
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(s.strip() for s in strings), (lang, m.id)
        wanted = set().union(*(placeholders(i) for i in ids))
        for s in strings:
            got = placeholders(s)
            if isinstance(m.id, tuple):  # a plural form may leave out the count
                assert got <= wanted, (lang, m.id, s)
            else:
                assert got == wanted, (lang, m.id, s)


def test_japanese_is_japanese() -> None:
    kana_or_kanji = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    untranslated = [
        m.id
        for m in _catalog("ja")
        if m.id
        and isinstance(m.string, str)
        and m.string == m.id
        and kana_or_kanji.search(m.id) is None
        and re.search(r"[a-z]{3,}", m.id)
    ]
    allowed = {"Choice({choices})"}
    assert set(untranslated) <= allowed, untranslated


def test_translate_fills_in_and_defaults_to_japanese() -> None:
    assert translate("the database is up to date") == "データベースを最新の状態にしました"
    assert translate("the database is up to date", "en") == "the database is up to date"
    assert translate("{login} disabled", "ja", login="k") == "k を停止しました"
    assert translate("{login} disabled", "en_US.UTF-8", login="k") == "k disabled"
    assert normalise("en-GB") == "en" and normalise("fr") == "ja" and normalise(None) == "ja"
    assert translations("ja") is translations("ja")  # compiled once


# --------------------------------------------------------------------------- command line


def test_a_cli_error_follows_lang(cli) -> None:
    ja = cli("export", "resources", "--format", "xlsx")
    assert ja.exit_code == 2 and "xlsx は -o でファイルを指定してください" in ja.stderr
    en = cli("export", "resources", "--format", "xlsx", "--lang", "en")
    assert en.exit_code == 2 and "xlsx needs -o FILE" in en.stderr
    assert (
        "xlsx needs -o FILE"
        in cli("export", "resources", "--format", "xlsx", env={"LANG": "en_US.UTF-8"}).stderr
    )


def test_clicks_own_usage_errors_are_japanese_by_default(cli) -> None:
    out = cli("user", "add", "x")
    assert out.exit_code == 2
    assert "使い方: main user add" in out.stderr
    assert "必須のオプションがありません: '--role'" in out.stderr
    assert "エラー:" in out.stderr and "「main user add --help」" in out.stderr
    assert "Usage" not in out.stderr and "Missing" not in out.stderr
    assert "コマンド「nosuch」はありません" in cli("nosuch").stderr
    bad = cli("match", "--top", "0")
    assert "'--top' の値が正しくありません" in bad.stderr
    assert "このヘルプを表示して終了します" in cli("user", "--help").stdout


@pytest.mark.parametrize("how", [("--lang", "en"), ("--lang=en",), ("LANG",)])
def test_clicks_own_usage_errors_in_english(cli, how: tuple[str, ...]) -> None:
    env = {"LANG": "en_US.UTF-8"} if how == ("LANG",) else None
    args = () if how == ("LANG",) else how
    out = cli("user", "add", "x", *args, env=env)
    assert out.exit_code == 2
    assert "Usage: main user add" in out.stderr
    assert "Error: Missing option '--role'" in out.stderr
    assert "Try 'main user add --help' for help." in out.stderr
    assert "No such command 'nosuch'" in cli("nosuch", *args, env=env).stderr
    assert "Invalid value for '--top'" in cli("match", "--top", "0", *args, env=env).stderr


# --------------------------------------------------------------------------------- pages


def test_pages_are_japanese_by_default(client) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="ja">' in page
    assert "日常生活圏域と地区" in page and "サインイン" in page
    assert "<code>tsunagu import districts ファイル.geojson</code> で地区を読み込むか" in page
    assert "Sign in" not in page
    assert "地域資源マップ" in client.get("/maps/").get_data(as_text=True)


def test_pages_follow_accept_language(client) -> None:
    response = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9,ja;q=0.5"})
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Daily-living areas and districts" in page and "Sign in" in page
    assert "<code>tsunagu import districts FILE.geojson</code>, or the demo town" in page
    assert not re.search(r"[\u3040-\u30ff]", page), "kana left on an English page"
    assert response.headers["Content-Language"] == "en"
    login = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Login name" in login and "ログイン名" not in login
    assert "ログイン名" in client.get("/login", headers={"Accept-Language": "ja,en"}).get_data(
        as_text=True
    )


def test_lang_parameter_is_remembered_in_a_cookie(client) -> None:
    response = client.get("/maps/?lang=en")
    assert "Resource maps" in response.get_data(as_text=True)
    assert any(c.startswith("lang=en") for c in response.headers.getlist("Set-Cookie"))
    assert "Resource maps" in client.get("/maps/").get_data(as_text=True)  # the cookie
    assert "地域資源マップ" in client.get("/maps/?lang=ja").get_data(as_text=True)


def test_error_pages_and_json_follow_the_language(client) -> None:
    ja = client.get("/no-such-page")
    assert ja.status_code == 404 and "ページが見つかりません" in ja.get_data(as_text=True)
    en = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert "Page not found" in en.get_data(as_text=True)
    area = client.get(
        "/maps/resident?area=XX", headers={"Accept-Language": "en", "Accept": "application/json"}
    )
    assert area.status_code == 404
    assert area.get_json() == {"error": "not_found", "message": "No area has the code XX."}
    area_ja = client.get("/maps/resident?area=XX", headers={"Accept": "application/json"})
    assert area_ja.get_json()["message"] == "地域コード XX は登録されていません。"


def test_schema_error_follows_lang(cli) -> None:
    assert "データベースが最新ではありません" in cli("user", "list").stderr
    assert "the database is not up to date" in cli("user", "list", "--lang", "en").stderr


def test_account_errors_follow_lang(engine, cli) -> None:
    ja = cli("user", "disable", "nobody")
    assert ja.exit_code == 1 and "ログイン名 nobody のアカウントはありません" in ja.stderr
    en = cli("user", "disable", "nobody", "--lang", "en")
    assert "There is no account with the login name nobody" in en.stderr
