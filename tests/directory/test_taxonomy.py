"""The category taxonomy: DATA_FORMATS §1 is a contract, so it is copied here literally.

The table below is deliberately *not* read from taxonomy.json: if the data file loses a
code, label or synonym, or a spelling stops resolving, these tests fail.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import jaconv
import pytest

from directory.errors import UnknownCategoryError
from directory.taxonomy import (
    Category,
    Taxonomy,
    TaxonomyError,
    load_taxonomy,
    meets,
    resolve,
    resolve_many,
    split_categories,
)

# DATA_FORMATS.md §1, row by row: code, label (ja), parent, synonyms users write.
SECTION_1: list[tuple[str, str, str | None, list[str]]] = [
    ("prevention", "介護予防", None, []),
    ("gathering", "通いの場", "prevention", ["集いの場", "居場所", "かよいのば"]),
    (
        "salon",
        "サロン",
        "gathering",
        ["ふれあいサロン", "いきいきサロン", "ふれあい・いきいきサロン"],
    ),
    ("mini_day", "ミニデイサービス", "gathering", ["ミニデイ", "ミニディ", "ミニディサービス"]),
    ("tea", "お茶のみ場", "gathering", ["お茶飲み会", "茶話会", "お茶会"]),
    ("senior_club", "老人クラブ", "gathering", ["シニアクラブ", "長寿会"]),
    ("exercise", "体操教室", "prevention", ["百歳体操", "健康体操", "介護予防教室"]),
    ("support", "生活支援", None, []),
    ("shopping", "買い物支援", "support", ["移動販売", "買い物代行", "買い物同行", "買物支援"]),
    ("watch", "見守り・安否確認", "support", ["見守り", "安否確認", "声かけ"]),
    ("snow", "除雪", "support", ["雪かき", "除排雪", "雪下ろし"]),
    ("garbage", "ゴミ出し支援", "support", ["ごみ出し", "ゴミ出し", "ごみ捨て", "ゴミ捨て"]),
    ("meals", "配食", "support", ["配食サービス", "弁当配達", "お弁当"]),
    ("transport", "移動支援", "support", ["送迎", "外出支援", "通院付き添い"]),
    ("housework", "家事援助", "support", ["掃除", "洗濯", "家事支援"]),
    ("volunteer", "ボランティア・担い手", None, ["ボランティア", "担い手"]),
    # the reference categories (matched only when a need names them)
    (
        "consultation",
        "相談窓口",
        None,
        ["地域包括支援センター", "包括", "社協の相談窓口", "総合相談"],
    ),
    (
        "day_service",
        "通所型サービス",
        "prevention",
        [
            "通所型サービスA",
            "通所型サービスB",
            "通所型サービスC",
            "通所型サービス（独自）",
            "総合事業 通所",
        ],
    ),
    (
        "home_service",
        "訪問型サービス",
        "support",
        [
            "訪問型サービスA",
            "訪問型サービスB",
            "訪問型サービスC",
            "訪問型サービスD",
            "訪問型サービス（独自）",
            "総合事業 訪問",
        ],
    ),
    (
        "care_facility",
        "介護保険の施設・事業所",
        None,
        [
            "特養",
            "特別養護老人ホーム",
            "老健",
            "通所介護",
            "デイサービス",
            "訪問介護",
            "居宅介護支援",
            "グループホーム",
            "軽費老人ホーム",
            "ケアハウス",
            "有料老人ホーム",
            "小規模多機能",
        ],
    ),
    ("medical", "医療機関・薬局", None, ["病院", "診療所", "クリニック", "医院", "歯科", "薬局"]),
]

# How people write the kanji spellings in kana (hiragana or katakana): resolved by reading.
READINGS = {
    "相談窓口": "そうだんまどぐち",
    "地域包括支援センター": "ちいきほうかつしえんせんたー",
    "包括": "ほうかつ",
    "社協の相談窓口": "しゃきょうのそうだんまどぐち",
    "総合相談": "そうごうそうだん",
    "通所型サービス": "つうしょがたさーびす",
    "通所型サービスA": "つうしょがたさーびすa",
    "通所型サービスB": "つうしょがたさーびすb",
    "通所型サービスC": "つうしょがたさーびすc",
    "通所型サービス（独自）": "つうしょがたさーびす(どくじ)",
    "総合事業 通所": "そうごうじぎょうつうしょ",
    "訪問型サービス": "ほうもんがたさーびす",
    "訪問型サービスA": "ほうもんがたさーびすa",
    "訪問型サービスB": "ほうもんがたさーびすb",
    "訪問型サービスC": "ほうもんがたさーびすc",
    "訪問型サービスD": "ほうもんがたさーびすd",
    "訪問型サービス（独自）": "ほうもんがたさーびす(どくじ)",
    "総合事業 訪問": "そうごうじぎょうほうもん",
    "介護保険の施設・事業所": "かいごほけんのしせつ・じぎょうしょ",
    "特養": "とくよう",
    "特別養護老人ホーム": "とくべつようごろうじんほーむ",
    "老健": "ろうけん",
    "通所介護": "つうしょかいご",
    "訪問介護": "ほうもんかいご",
    "居宅介護支援": "きょたくかいごしえん",
    "軽費老人ホーム": "けいひろうじんほーむ",
    "有料老人ホーム": "ゆうりょうろうじんほーむ",
    "小規模多機能": "しょうきぼたきのう",
    "医療機関・薬局": "いりょうきかん・やっきょく",
    "病院": "びょういん",
    "診療所": "しんりょうじょ",
    "医院": "いいん",
    "歯科": "しか",
    "薬局": "やっきょく",
    "介護予防": "かいごよぼう",
    "通いの場": "カヨイノバ",
    "集いの場": "つどいのば",
    "居場所": "いばしょ",
    "お茶のみ場": "おちゃのみば",
    "お茶飲み会": "おちゃのみかい",
    "茶話会": "さわかい",
    "お茶会": "オチャカイ",
    "老人クラブ": "ろうじんくらぶ",
    "長寿会": "ちょうじゅかい",
    "体操教室": "たいそうきょうしつ",
    "百歳体操": "ひゃくさいたいそう",
    "健康体操": "けんこうたいそう",
    "介護予防教室": "かいごよぼうきょうしつ",
    "生活支援": "セイカツシエン",
    "買い物支援": "かいものしえん",
    "移動販売": "いどうはんばい",
    "買い物代行": "かいものだいこう",
    "買い物同行": "かいものどうこう",
    "買物支援": "カイモノシエン",
    "見守り・安否確認": "みまもり・あんぴかくにん",
    "見守り": "みまもり",
    "安否確認": "あんぴかくにん",
    "声かけ": "こえかけ",
    "除雪": "じょせつ",
    "雪かき": "ゆきかき",
    "除排雪": "ジョハイセツ",
    "雪下ろし": "ゆきおろし",
    "ゴミ出し支援": "ごみだししえん",
    "ごみ出し": "ごみだし",
    "ごみ捨て": "ゴミステ",
    "配食": "はいしょく",
    "配食サービス": "はいしょくさーびす",
    "弁当配達": "べんとうはいたつ",
    "お弁当": "おべんとう",
    "移動支援": "いどうしえん",
    "送迎": "そうげい",
    "外出支援": "がいしゅつしえん",
    "通院付き添い": "つういんつきそい",
    "家事援助": "かじえんじょ",
    "掃除": "そうじ",
    "洗濯": "せんたく",
    "家事支援": "かじしえん",
    "担い手": "にないて",
    "ボランティア・担い手": "ぼらんてぃあ・にないて",
}

_KATAKANA = re.compile("[ァ-ヺー]")
_HIRAGANA = re.compile("[ぁ-ゖ]")


def spellings(text: str) -> list[str]:
    """The ways people write ``text``: as-is, with stray spaces, other widths and scripts."""
    found = [text, f" {text[0]}　{text[1:]}\t", f"{text}\u3000"]
    if text.isascii():
        found.append(jaconv.h2z(text.upper(), ascii=True))
        found.append(text.upper())
    if _KATAKANA.search(text):
        found.append(jaconv.z2h(text, kana=True, ascii=False, digit=False))
        found.append(jaconv.kata2hira(text))
    if _HIRAGANA.search(text):
        found.append(jaconv.hira2kata(text))
    if text in READINGS:
        found.append(READINGS[text])
    return list(dict.fromkeys(found))


SPELLING_CASES = [
    pytest.param(code, variant, id=f"{code}-{variant}")
    for code, label, _parent, synonyms in SECTION_1
    for name in (code, label, *synonyms)
    for variant in spellings(name)
]


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


def test_every_name_has_three_spellings() -> None:
    for code, label, _parent, synonyms in SECTION_1:
        for name in (code, label, *synonyms):
            assert len(spellings(name)) >= 3, name
            # a spelling other than as-is and spaces: width, script or reading
            assert len(spellings(name)) >= 4, f"add a reading for {name} to READINGS"


@pytest.mark.parametrize(("code", "spelling"), SPELLING_CASES)
def test_section_1_spellings_resolve(taxonomy: Taxonomy, code: str, spelling: str) -> None:
    assert taxonomy.resolve(spelling).code == code


def test_exactly_the_codes_of_section_1(taxonomy: Taxonomy) -> None:
    assert [cat.code for cat in taxonomy] == [row[0] for row in SECTION_1]
    assert len(taxonomy) == 21


@pytest.mark.parametrize(("code", "label", "parent", "synonyms"), SECTION_1)
def test_section_1_rows(
    taxonomy: Taxonomy, code: str, label: str, parent: str | None, synonyms: list[str]
) -> None:
    cat = taxonomy[code]
    assert cat.label_ja == label
    assert cat.parent == parent
    assert set(synonyms) <= set(cat.synonyms)


def test_english_labels_resolve(taxonomy: Taxonomy) -> None:
    for cat in taxonomy:
        assert cat.label_en and cat.label_en.isascii()
        assert taxonomy.resolve(cat.label_en.upper()) is cat
    assert taxonomy.resolve("snow removal").code == "snow"
    assert taxonomy.resolve("Salon").label("en") == "Salon"
    assert taxonomy.resolve("Salon").label("ja") == "サロン"


def test_display_fields(taxonomy: Taxonomy) -> None:
    colours = [cat.colour for cat in taxonomy]
    assert all(re.fullmatch("#[0-9A-F]{6}", c) for c in colours)
    assert len(set(colours)) == len(colours)
    assert all(re.fullmatch("[a-z]+(-[a-z]+)*", cat.icon) for cat in taxonomy)
    assert taxonomy["snow"].icon == "snowflake-o"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("見守り安否確認", "watch"),  # label with its ・ left out
        ("ボランティア担い手", "volunteer"),
        ("ふれあいいきいきサロン", "salon"),
        ("声掛け", "watch"),  # okurigana variant, listed
        ("通院付添い", "transport"),  # okurigana variant, by reading
        ("買物代行", "shopping"),  # by reading
        ("ごみすて", "garbage"),
        ("ｺﾞﾐ出し", "garbage"),
        ("ＭＩＮＩ＿ＤＡＹ", "mini_day"),
        ("Mini Day Service", "mini_day"),
        ("生活支援サービス", "support"),
    ],
)
def test_more_spellings(text: str, code: str) -> None:
    assert resolve(text).code == code


# --- the parent/child rule -------------------------------------------------------------

MEETS = [
    # a need for a parent is met by any child (and grandchild)
    ("support", "shopping", True),
    ("support", "housework", True),
    ("support", "watch", True),
    ("prevention", "gathering", True),
    ("prevention", "exercise", True),
    ("prevention", "salon", True),  # grandchild
    ("prevention", "senior_club", True),
    ("gathering", "salon", True),
    ("gathering", "mini_day", True),
    # a need for a category is met by itself
    ("support", "support", True),
    ("salon", "salon", True),
    ("volunteer", "volunteer", True),
    # a need for a child is met by that child only
    ("salon", "gathering", False),
    ("salon", "prevention", False),
    ("salon", "mini_day", False),
    ("shopping", "support", False),
    ("shopping", "watch", False),
    ("gathering", "exercise", False),
    ("exercise", "gathering", False),
    # different trees
    ("support", "salon", False),
    ("prevention", "shopping", False),
    ("volunteer", "support", False),
    ("support", "volunteer", False),
]


@pytest.mark.parametrize(("need", "resource", "expected"), MEETS)
def test_meets(taxonomy: Taxonomy, need: str, resource: str, expected: bool) -> None:
    assert taxonomy.meets(need, resource) is expected
    assert meets(need, resource) is expected


def test_tree(taxonomy: Taxonomy) -> None:
    assert taxonomy.roots() == (
        "prevention",
        "support",
        "volunteer",
        "consultation",
        "care_facility",
        "medical",
    )
    assert taxonomy.children("prevention") == ("gathering", "exercise", "day_service")
    assert taxonomy.children("gathering") == ("salon", "mini_day", "tea", "senior_club")
    assert taxonomy.children("salon") == ()
    assert taxonomy.ancestors("salon") == ("gathering", "prevention")
    assert taxonomy.ancestors("prevention") == ()
    assert taxonomy.descendants("salon") == frozenset({"salon"})
    assert taxonomy.descendants("prevention") == frozenset(
        {"prevention", "gathering", "salon", "mini_day", "tea", "senior_club", "exercise"}
    )
    assert taxonomy.descendants("support") == frozenset(
        {"support", "shopping", "watch", "snow", "garbage", "meals", "transport", "housework"}
    )
    # reference categories meet only a need that names them (§1)
    assert taxonomy.descendants("day_service") == frozenset({"day_service"})
    assert not taxonomy.meets("prevention", "day_service")
    assert not taxonomy.meets("support", "home_service")
    assert taxonomy.meets("home_service", "home_service")
    assert taxonomy.reference_codes == frozenset(
        {"consultation", "day_service", "home_service", "care_facility", "medical"}
    )


def test_unknown_codes_in_the_tree(taxonomy: Taxonomy) -> None:
    with pytest.raises(UnknownCategoryError):
        taxonomy.descendants("サロン")  # a label, not a code
    with pytest.raises(UnknownCategoryError):
        taxonomy.meets("salon", "nowhere")
    with pytest.raises(UnknownCategoryError):
        taxonomy["nowhere"]


# --- cells with several categories ---------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "items"),
    [
        ("サロン;見守り", ["サロン", "見守り"]),
        ("サロン；見守り", ["サロン", "見守り"]),
        ("サロン、見守り", ["サロン", "見守り"]),
        ("サロン､見守り", ["サロン", "見守り"]),
        ("サロン,見守り", ["サロン", "見守り"]),
        ("サロン，見守り", ["サロン", "見守り"]),
        ("サロン\n見守り", ["サロン", "見守り"]),
        ("サロン\r\n見守り", ["サロン", "見守り"]),
        ("見守り・安否確認", ["見守り・安否確認"]),
        ("ふれあい・いきいきサロン、配食", ["ふれあい・いきいきサロン", "配食"]),
        ("ボランティア・担い手;除雪", ["ボランティア・担い手", "除雪"]),
        (" サロン ; ; 配食 ;", ["サロン", "配食"]),
        ("　サロン　", ["サロン"]),
        ("サロン", ["サロン"]),
        ("", []),
        (None, []),
        (" ; 、 ", []),
    ],
)
def test_split_categories(cell: str | None, items: list[str]) -> None:
    assert split_categories(cell) == items


def test_resolve_many(taxonomy: Taxonomy) -> None:
    cell = "サロン;ｻﾛﾝ、salon,見守り・安否確認；みまもり"
    assert [c.code for c in taxonomy.resolve_many(cell)] == ["salon", "watch"]
    assert [c.code for c in resolve_many("配食、ふれあい・いきいきサロン")] == ["meals", "salon"]
    assert taxonomy.resolve_many("") == []
    with pytest.raises(UnknownCategoryError) as info:
        taxonomy.resolve_many("配食、サロソ、除雪")
    assert info.value.text == "サロソ"


# --- unknown categories ------------------------------------------------------------------


def test_unknown_category_suggests(taxonomy: Taxonomy) -> None:
    with pytest.raises(UnknownCategoryError) as info:
        taxonomy.resolve("サロソ")
    error = info.value
    assert isinstance(error, ValueError)
    assert error.text == "サロソ"
    assert error.suggestions[0] == "サロン"
    assert len(error.suggestions) <= 3
    assert "サロソ" in error.reason("ja")
    assert "サロン" in error.reason("ja")
    assert "サロン" in str(error)


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("salom", "サロン"),  # labels are shown in Japanese, even for a code typo
        ("ミニデイサビース", "ミニデイサービス"),
        ("ボランテア", "ボランティア・担い手"),
        ("見守", "見守り・安否確認"),
        ("送り迎え", "移動支援"),
    ],
)
def test_suggestions(text: str, suggestion: str) -> None:
    with pytest.raises(UnknownCategoryError) as info:
        resolve(text)
    assert suggestion in info.value.suggestions


@pytest.mark.parametrize("text", ["xyz", "", "　", "12345"])
def test_unknown_without_a_close_match(text: str) -> None:
    with pytest.raises(UnknownCategoryError) as info:
        resolve(text)
    assert info.value.suggestions == []
    assert "候補" not in info.value.reason("ja")


# --- the file --------------------------------------------------------------------------


def test_default_taxonomy_is_loaded_once() -> None:
    assert load_taxonomy() is load_taxonomy()


def test_category_is_frozen(taxonomy: Taxonomy) -> None:
    cat = taxonomy["salon"]
    assert isinstance(cat, Category)
    assert isinstance(cat.synonyms, tuple)
    with pytest.raises(AttributeError):
        cat.code = "other"  # type: ignore[misc]


def entry(code: str, label: str, parent: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "label_ja": label,
        "label_en": code.title(),
        "parent": parent,
        "synonyms": [],
        "colour": extra.pop("colour", "#" + hashlib.md5(code.encode()).hexdigest()[:6]),
        "icon": "circle",
        **extra,
    }


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_small_file_loads(tmp_path: Path) -> None:
    entries = [entry("a", "生活支援", colour="#000000"), entry("b", "除雪", "a", colour="#111111")]
    for data in (entries, {"categories": entries}):
        taxonomy = load_taxonomy(write(tmp_path, data))
        assert taxonomy.resolve("じょせつ").code == "b"
        assert taxonomy.meets("a", "b")


@pytest.mark.parametrize(
    ("entries", "offender"),
    [
        ([entry("a", "甲", colour="#000001"), entry("a", "乙", colour="#000002")], "'a'"),
        ([entry("a", "甲", "nowhere")], "nowhere"),
        (
            [entry("a", "甲", "b", colour="#000001"), entry("b", "乙", "a", colour="#000002")],
            "cycle",
        ),
        ([entry("a", "甲", "a")], "cycle"),
        # the same spelling for two codes, directly or after normalisation
        (
            [
                entry("a", "サロン", colour="#000001"),
                entry("b", "集会", synonyms=["ｻﾛﾝ"], colour="#000002"),
            ],
            "ｻﾛﾝ",
        ),
        # ... or by reading: みまもり is the reading of 見守り
        (
            [
                entry("a", "見守り", colour="#000001"),
                entry("b", "安否", synonyms=["みまもり"], colour="#000002"),
            ],
            "みまもり",
        ),
        # a code that is another category's label
        (
            [entry("salon", "集会", colour="#000001"), entry("b", "SALON", colour="#000002")],
            "SALON",
        ),
        ([entry("a", "甲", colour="#000001"), entry("b", "乙", colour="#000001")], "colour"),
        ([entry("a", "甲", colour="red")], "colour"),
        ([entry("a", "　")], "label_ja"),
        ([entry("a", "甲", synonyms="サロン")], "synonyms"),
        ([entry("a", "甲", synonym=["サロン"])], "synonym"),
        ([{k: v for k, v in entry("a", "甲").items() if k != "icon"}], "icon"),
        ([entry("a", "甲", synonyms=[" "])], "empty"),
        ([["a", "甲"]], "#1"),
        ({"items": []}, "categories"),
    ],
)
def test_file_errors(tmp_path: Path, entries: Any, offender: str) -> None:
    path = write(tmp_path, entries)
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy(path)
    assert isinstance(info.value, ValueError)
    assert offender in str(info.value)
    assert str(path) in str(info.value)


def test_file_not_json(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.json"
    path.write_text('[{"code": "a",}]', encoding="utf-8")
    with pytest.raises(TaxonomyError, match="line 1"):
        load_taxonomy(path)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # what municipal 通いの場 lists write in 種別 (the MHLW survey's activity types and
        # everyday names), each to the category a coordinator would file it under
        ("認知症カフェ", "gathering"),
        ("オレンジカフェ", "gathering"),
        ("会食", "gathering"),
        ("趣味活動", "gathering"),
        ("多世代交流", "gathering"),
        ("介護者の集い", "gathering"),
        ("サロン活動", "salon"),
        ("交流サロン", "salon"),
        ("体操", "exercise"),
        ("ラジオ体操", "exercise"),
        ("グラウンドゴルフ", "exercise"),
        ("認知症予防", "prevention"),
        ("脳トレ", "prevention"),
        ("傾聴ボランティア", "volunteer"),
        ("草取り", "housework"),
        ("電球交換", "housework"),
        ("買い物バス", "shopping"),
        ("訪問型サービスB", "home_service"),
        ("老人いこいの家", "gathering"),
        ("老人福祉センター", "gathering"),
    ],
)
def test_everyday_activity_names_resolve(taxonomy: Taxonomy, text: str, code: str) -> None:
    assert taxonomy.resolve(text).code == code


@pytest.mark.parametrize("text", ["サービスB", "その他"])
def test_names_that_could_be_several_categories_stay_unknown(taxonomy: Taxonomy, text: str) -> None:
    with pytest.raises(UnknownCategoryError):
        taxonomy.resolve(text)
