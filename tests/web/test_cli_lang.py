"""The command line in both languages: ``--help`` of every command, ``tsunagu match``'s
reasons and near-miss details, and the app's refusal of a guessable SECRET_KEY."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from directory.i18n import po_path
from matching.models import Match

ON = "2026-11-23"


def flat(text: str) -> str:
    """Help text without click's line wrapping."""
    return " ".join(text.split())


@pytest.fixture
def demo(demo_town_with_needs: Engine) -> Engine:
    return demo_town_with_needs


def test_help_is_japanese_by_default_and_english_when_asked(cli) -> None:  # type: ignore[no-untyped-def]
    ja = cli("--help")
    assert ja.exit_code == 0
    assert "つなぐ: 生活支援コーディネーターのための地域資源ディレクトリとマッチング。" in ja.stdout
    assert "監査ログ" in ja.stdout and "The audit log." not in ja.stdout
    en = cli("--help", "--lang", "en")
    assert "Tsunagu: the resource directory and matching for life support" in en.stdout
    assert "The audit log." in en.stdout and "監査ログ" not in en.stdout
    # LANG=en_* chooses English too; a subcommand's options follow
    env = cli("user", "add", "--help", env={"LANG": "en_GB.UTF-8"})
    assert "Create an account. admin and tier1 set up two-step" in flat(env.stdout)
    assert "Read the password from one line of standard input." in flat(env.stdout)
    # …and the same command object words Japanese again on the next run
    again = cli("user", "add", "--help")
    assert "パスワードを標準入力の1行から読む" in flat(again.stdout)
    assert "アカウントを作ります。" in flat(again.stdout)


def test_every_help_text_is_in_english_in_the_code_and_translated() -> None:
    """Docstrings and ``help="…"`` are the catalogue's English msgids, each with Japanese."""
    from web.cli import main
    from web.cli._common import help_msgids

    with po_path("ja").open("rb") as fp:
        japanese = read_po(fp, locale="ja")
    texts = help_msgids(main)
    assert len(texts) > 50
    assert "Import files." in texts and "The audit log." in texts
    for text in texts:
        message = japanese.get(text)
        assert message is not None and message.string, text


def _demo_match(cli, *args: str):  # type: ignore[no-untyped-def]
    return cli("match", "--need", "N-0001", "--need", "N-0019", "--on", ON, *args)


def test_match_reasons_and_near_miss_in_both_languages(demo: Engine, cli) -> None:  # type: ignore[no-untyped-def]
    ja = _demo_match(cli)
    assert ja.exit_code == 0, ja.stderr
    assert "N-0019: 未充足・" in ja.stdout and "（最も近い候補: " in ja.stdout
    assert "休止中" in ja.stdout
    en = _demo_match(cli, "--lang", "en")
    assert en.exit_code == 0, en.stderr
    assert "N-0019: unmet: " in en.stdout and " (closest: " in en.stdout
    assert "— paused" in en.stdout
    assert "category: " in en.stdout and "種別" not in en.stdout
    assert "休止中" not in en.stdout and "最も近い候補" not in en.stdout
    # proposals are stored in Japanese whatever the language of the command
    with Session(demo) as s:
        reasons = [r for m in s.scalars(select(Match)) for r in m.reasons]
    assert reasons and any(r.startswith("種別: ") for r in reasons)
    assert not any(r.startswith("category: ") for r in reasons)
    # §5 JSON: Japanese by default, English with --lang en
    payload = json.loads(_demo_match(cli, "--json").stdout)
    assert payload[1]["near_miss"]["reasons"][0] == "休止中"
    english = json.loads(_demo_match(cli, "--json", "--lang", "en").stdout)
    assert english[1]["near_miss"]["reasons"][0] == "paused"
    assert english[0]["matches"][0]["reasons"][2].startswith("category: ")


def test_insecure_config_error_in_both_languages(db_url: str, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from web import InsecureConfigError, create_app

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("TSUNAGU_SECRET_KEY", raising=False)
    monkeypatch.setenv("TSUNAGU_INSTANCE", str(tmp_path / "none"))
    with pytest.raises(InsecureConfigError) as raised:
        create_app({"SECRET_KEY": "dev", "DATABASE_URL": db_url})
    assert str(raised.value).startswith("SECRET_KEY が設定されていません。")
    assert raised.value.describe("en").startswith("SECRET_KEY is not set. Write a SECRET_KEY")
    assert isinstance(raised.value, RuntimeError)


def test_map_files_in_english(demo: Engine, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    resident = tmp_path / "resident.html"
    result = cli("map", "resident", "--area", "04445-A1", "-o", resident, "--lang", "en")
    assert result.exit_code == 0, result.stderr
    html = resident.read_text(encoding="utf-8")
    assert '<html lang="en"' in html and "How to read the map" in html
    assert "Community resources: 中新田" in html and "地図の見かた" not in html
    unmet = tmp_path / "unmet.html"
    result = cli("map", "unmet", "-o", unmet, "--on", ON, "--lang", "en")
    assert result.exit_code == 0, result.stderr
    html = unmet.read_text(encoding="utf-8")
    assert "Unmet needs for life support (by district)" in html and "a few" in html
    assert "少数" not in html
    coordinator = tmp_path / "coordinator.html"
    result = cli("map", "coordinator", "--area", "04445-A2", "-o", coordinator)
    assert result.exit_code == 0, result.stderr
    assert '<html lang="ja"' in coordinator.read_text(encoding="utf-8")
