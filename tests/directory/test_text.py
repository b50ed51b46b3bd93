"""Japanese text normalisation: real spelling variants from coordinators' spreadsheets."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from directory import text
from directory.text import normalize, normalize_keys, reading, same_text

REPO = Path(__file__).resolve().parents[2]

# Pairs that must give the same normalize() key. (left, right, why)
SAME_KEY = [
    # width and script
    ("ﾐﾆﾃﾞｲ", "ミニデイ", "half-width katakana with a voiced mark"),
    ("ミニデイ", "みにでい", "katakana → hiragana"),
    ("ﾐﾆﾃﾞｲ", "みにでい", "half-width katakana → hiragana"),
    ("ｻﾛﾝ", "サロン", "half-width katakana"),
    ("サロン", "さろん", "katakana → hiragana"),
    ("ゴミ", "ごみ", "katakana → hiragana"),
    ("ﾃﾞｲｻｰﾋﾞｽ", "デイサービス", "half-width voiced marks and ｰ"),
    ("ﾊﾟﾝ", "パン", "half-width semi-voiced mark"),
    ("ﾋﾟｰﾏﾝ", "ぴーまん", "half-width semi-voiced mark, then hiragana"),
    ("ボランティア", "ぼらんてぃあ", "katakana with small kana"),
    ("ヴ", "ゔ", "ヴ folds to ゔ"),
    ("ＡＢＣ", "abc", "full-width Latin, case"),
    ("Ｓａｌｏｎ", "SALON", "full-width Latin, case"),
    ("１００円", "100円", "full-width digits"),
    ("６５歳以上", "65歳以上", "full-width digits"),
    ("第２木曜", "第2木曜", "full-width digit in a schedule"),
    ("１０：００", "10:00", "full-width digits and colon"),
    ("１０：００〜１２：００", "10:00~12:00", "time range with 〜"),
    ("㈱", "(株)", "NFKC compatibility character"),
    ("㈱つなぐ", "（株）つなぐ", "NFKC: ㈱ and full-width brackets"),
    ("①", "1", "circled digit"),
    ("㍻", "平成", "era ligature"),
    # wave dashes (jaconv.normalize would make these ー)
    ("12月〜3月", "12月~3月", "WAVE DASH U+301C"),
    ("12月～3月", "12月~3月", "FULLWIDTH TILDE U+FF5E"),
    ("12月〜3月", "12月～3月", "the two wave dashes"),
    ("12月〰3月", "12月~3月", "WAVY DASH U+3030"),
    ("12月∼3月", "12月~3月", "TILDE OPERATOR U+223C"),
    # long vowels typed with other keys
    ("ｺｰﾋｰ", "コーヒー", "half-width ｰ"),
    ("コーヒー", "こーひー", "ー kept in hiragana"),
    ("コ－ヒ－", "コーヒー", "FULLWIDTH HYPHEN-MINUS after kana"),
    ("コ―ヒ―", "コーヒー", "HORIZONTAL BAR after kana"),
    ("コ-ヒ-", "コーヒー", "ASCII hyphen after kana"),
    ("ミニデ‐", "ミニデー", "HYPHEN U+2010 after kana"),
    ("ミニデ‑", "ミニデー", "NON-BREAKING HYPHEN U+2011 after kana"),
    ("ミニデ–", "ミニデー", "EN DASH after kana"),
    ("ミニデ—", "ミニデー", "EM DASH after kana"),
    ("ミニデ─", "ミニデー", "BOX DRAWINGS LIGHT HORIZONTAL after kana"),
    # hyphens between digits stay hyphens
    ("090－1234－5678", "090-1234-5678", "full-width hyphen in a phone number"),
    ("090ー1234ー5678", "090-1234-5678", "ー typed in kana mode between digits"),
    ("090‐1234‐5678", "090-1234-5678", "HYPHEN U+2010 between digits"),
    ("2024−04−01", "2024-04-01", "MINUS SIGN between digits"),
    # voiced marks written separately
    ("ウ゛ァイオリン", "ヴァイオリン", "ウ + spacing ゛"),
    ("ｳﾞｧｲｵﾘﾝ", "ヴァイオリン", "half-width ｳﾞ"),
    ("か゛っこう", "がっこう", "か + spacing ゛"),
    ("は゜ん", "ぱん", "は + spacing ゜"),
    # iteration marks
    ("いすゞ", "いすず", "ゞ repeats voiced"),
    ("こゝろ", "こころ", "ゝ repeats"),
    ("サヽキ", "ササキ", "katakana ヽ"),
    ("ミスヾ", "みすず", "katakana ヾ"),
    # counters
    ("一ヵ月", "一ヶ月", "small ヵ and ヶ"),
    ("3ケ月", "3ヶ月", "full-size ケ as a counter"),
    ("3か月", "3ヶ月", "か月"),
    ("3カ月", "3ヶ月", "カ月"),
    ("2ヵ所", "2か所", "か所"),
    # middle dots
    ("見守り･安否確認", "見守り・安否確認", "half-width middle dot"),
    ("見守り·安否確認", "見守り・安否確認", "MIDDLE DOT U+00B7"),
    ("見守り•安否確認", "見守り・安否確認", "BULLET"),
    ("ふれあい・いきいきｻﾛﾝ", "フレアイ・イキイキサロン", "dot kept, scripts folded"),
    # whitespace and invisible characters
    ("ふれあい　サロン", "ふれあいサロン", "ideographic space"),
    (" サロン\t", "サロン", "stray tab and space"),
    ("見守り\n安否確認", "見守り安否確認", "line break in a cell"),
    ("ミニデー\u200b", "ミニデー", "zero-width space"),
    ("\ufeffID", "id", "BOM at the start of a CSV header"),
]

# Pairs that differ by key but are the same words: same_text() via reading().
SAME_READING = [
    ("見守り", "みまもり"),
    ("ゴミ捨て", "ごみすて"),
    ("ゴミ出し", "ごみだし"),
    ("茶話会", "さわかい"),
    ("通いの場", "かよいのば"),
    ("居場所", "イバショ"),
    ("介護予防", "カイゴヨボウ"),
    ("除雪", "じょせつ"),
    ("配食", "はいしょく"),
    ("送迎", "ソウゲイ"),
    ("老人クラブ", "ろうじんくらぶ"),
    ("声かけ", "声掛け"),
    ("雪下ろし", "雪降ろし"),
    ("買い物", "買物"),
    ("付き添い", "付添い"),
    ("申し込み", "申込み"),
    ("問い合わせ", "問合せ"),
    ("打ち合わせ", "打合せ"),
    ("引っ越し", "引越し"),
    ("受付", "受け付け"),
    ("㈱つなぐ", "株式会社つなぐ"),
    ("第２・第４木曜", "第2・第4もくよう"),
    ("1ヶ月", "1かげつ"),
]

# Pairs that must stay different, even by reading.
DIFFERENT = [
    ("12月～3月", "12月ー3月", "a wave dash is not a long vowel (the jaconv.normalize bug)"),
    ("12月~3月", "12月-3月", "a wave dash is not a hyphen"),
    ("月", "日", "different kanji"),
    ("サロン", "サロンA", "a suffix matters"),
    ("第1木曜", "第2木曜", "different digits"),
    ("10:00", "1000", "the colon is kept"),
    ("ミニデイ", "ミニディ", "small kana are not folded into large"),
    ("がっこう", "かっこう", "voiced marks matter"),
    ("ぱん", "はん", "semi-voiced marks matter"),
    ("ゔ", "ぶ", "ヴ is not ブ"),
    ("さくら-2", "さくらー2", "a hyphen before a digit is a separator, not a long vowel"),
    ("見守り", "見張り", "different words"),
    ("人", "人々", "々 is kept"),
    ("サロン", "", "empty is not a value"),
]


@pytest.mark.parametrize(("left", "right", "why"), SAME_KEY)
def test_same_key(left: str, right: str, why: str) -> None:
    assert normalize(left) == normalize(right), why
    assert same_text(left, right)


@pytest.mark.parametrize(("left", "right"), SAME_READING)
def test_same_reading(left: str, right: str) -> None:
    assert reading(left) == reading(right)
    assert same_text(left, right)
    assert same_text(right, left)


@pytest.mark.parametrize(("left", "right", "why"), DIFFERENT)
def test_different(left: str, right: str, why: str) -> None:
    assert normalize(left) != normalize(right), why
    assert not same_text(left, right), why


def test_there_are_enough_variant_rows() -> None:
    assert len(SAME_KEY) + len(SAME_READING) >= 40


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("2024-04-01", "2024-04-01"),
        ("２０２４－０４－０１", "2024-04-01"),
        ("090-1234-5678", "090-1234-5678"),
        ("12月～3月", "12月~3月"),
        ("ﾐﾆﾃﾞｲ", "みにでい"),
        ("ふれあい・いきいきサロン", "ふれあい・いきいきさろん"),
        ("一ヶ月", "一ヶ月"),
        ("霞ヶ関", "霞ヶ関"),
        ("人々", "人々"),
        ("いすゞ", "いすず"),
        ("ぶゝ", "ぶふ"),
        ("ゝ", "ゝ"),
        ("漢ゝ", "漢ゝ"),
        ("ABC Def", "abcdef"),
        ("Straße", "strasse"),
        ("ミニデ-1", "みにで-1"),
    ],
)
def test_key_values(raw: str, key: str) -> None:
    assert normalize(raw) == key


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("ふれあい　サロン", "ふれあい さろん"),
        ("  見守り \t\n 安否確認　", "見守り 安否確認"),
        ("9:00 12:00", "9:00 12:00"),
        ("ABC  DEF", "abc def"),
        ("サロン", "さろん"),
        ("　", ""),
    ],
)
def test_keep_spaces(raw: str, key: str) -> None:
    assert normalize(raw, keep_spaces=True) == key


def test_spaces_removed_by_default() -> None:
    assert normalize("9:00 12:00") == "9:0012:00"
    assert normalize("　\t\n") == ""


@pytest.mark.parametrize("empty", [None, ""])
def test_empty(empty: str | None) -> None:
    assert normalize(empty) == ""
    assert normalize(empty, keep_spaces=True) == ""
    assert reading(empty) == ""
    assert same_text(empty, "")
    assert same_text(None, "")
    assert not same_text(empty, "サロン")


def test_normalize_is_idempotent() -> None:
    for row in SAME_KEY:
        for raw in row[:2]:
            once = normalize(raw)
            assert normalize(once) == once, raw


def test_normalize_keys() -> None:
    assert normalize_keys(["サロン", "ｻﾛﾝ", "さろん", "", None, "配食"]) == {"さろん", "配食"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("見守り", "みまもり"),
        ("ゴミ捨て", "ごみすて"),
        ("茶話会", "さわかい"),
        # digits, Latin and symbols keep their surface: Sudachi reads 10 as イチレイ,
        # ":" as キゴウ and ABC as エービーシー
        ("10:00〜12:00 見守り", "10:00~12:00みまもり"),
        ("ABC見守り", "abcみまもり"),
        # a kanji the dictionary does not know keeps its surface
        ("髙橋", "髙橋"),
        ("見守り・安否確認", "みまもり・あんぴかくにん"),
    ],
)
def test_reading(raw: str, expected: str) -> None:
    assert reading(raw) == expected


@pytest.mark.parametrize(
    "raw", ["ミニデイ", "ｻﾛﾝ", "ふれあい　サロン", "10:00", "ABC", "ゔぁいおりん"]
)
def test_reading_of_kana_does_not_tokenise(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_tokenizer() -> None:
        raise AssertionError("tokenised kana-only text")

    text._reading_of.cache_clear()
    monkeypatch.setattr(text, "_tokenizer", no_tokenizer)
    assert reading(raw) == normalize(raw)


def test_reading_of_text_longer_than_sudachi_accepts() -> None:
    # Sudachi refuses input over 49,149 bytes; reading() feeds it in pieces.
    long = "見守り。" * 10_000
    assert len(long.encode()) > 49_149
    assert reading(long) == "みまもり。" * 10_000


def test_reading_from_many_threads() -> None:
    # A Sudachi Tokenizer raises SudachiError when two threads use it at once.
    texts = [f"第{i}回見守り活動と配食" for i in range(300)]
    expected = [f"だい{i}かいみまもりかつどうとはいしょく" for i in range(300)]
    text._reading_of.cache_clear()
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(reading, texts)) == expected


def test_import_does_not_load_the_dictionary() -> None:
    script = textwrap.dedent(
        """
        import sys
        import directory.text as t
        assert t._dictionary is None, "dictionary loaded on import"
        assert "sudachipy" not in sys.modules, "sudachipy imported on import"
        t.normalize("見守り")
        t.reading("ミニデイ")
        assert t._dictionary is None, "dictionary loaded for kana-only text"
        assert t.reading("見守り") == "みまもり"
        assert t._dictionary is not None, "reading() of kanji did not use the dictionary"
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
