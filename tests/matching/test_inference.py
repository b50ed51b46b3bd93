"""Category inference from intake text: realistic sentences, spelling variants, negatives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from matching.inference import PHRASES_PATH, PhraseTableError, _table, infer, infer_categories

ROOT = Path(__file__).resolve().parents[2]

# (what a coordinator wrote at intake, the categories it names)
SENTENCES: list[tuple[str, list[str]]] = [
    # the issue's own examples
    ("ゴミ置き場まで運べない。火曜と金曜の朝", ["garbage"]),
    ("買い物に行けない", ["shopping"]),
    ("話し相手がほしい", ["gathering"]),
    # garbage in every spelling: katakana, hiragana, half-width, kanji 塵, compounds
    ("ｺﾞﾐを出しに行けない", ["garbage"]),
    ("ごみを出すのがつらい", ["garbage"]),
    ("塵を捨てに行けない", ["garbage"]),
    ("ゴミ捨て場が遠くて大変", ["garbage"]),
    ("ごみすてができない", ["garbage"]),
    ("ｺﾞﾐ出しを手伝ってほしい", ["garbage"]),
    ("膝が痛くてゴミ袋を集積所まで持っていけない", ["garbage"]),
    ("資源ごみの日を忘れてしまう", ["garbage"]),
    # shopping
    ("買い物が大変", ["shopping"]),
    ("買物が大変になってきた", ["shopping"]),
    ("近くに店がなく、食料品を買いに行けない", ["shopping"]),
    ("移動販売が来てくれると助かる", ["shopping"]),
    # gathering / loneliness
    ("寂しい", ["gathering"]),
    ("妻を亡くしてから家に閉じこもりがち", ["gathering"]),
    ("毎日だれとも話さない日がある", ["gathering"]),
    ("家にいてばかりで、外出の機会がない", ["gathering"]),
    # snow, in kanji, kana and the dictionary's other kanji (雪掻き)
    ("雪かきができない", ["snow"]),
    ("ゆきかきが一人では無理", ["snow"]),
    ("雪掻きが大変", ["snow"]),
    ("冬になると屋根の雪下ろしができず困っている", ["snow"]),
    ("玄関前の除雪をお願いしたい", ["snow"]),
    # transport
    ("通院の足がない", ["transport"]),
    ("免許を返納したので病院に行く手段がない", ["transport"]),
    ("週に一回、通院の付き添いをお願いしたい", ["transport"]),
    ("病院に行けない", ["transport"]),
    # meals
    ("食事の用意ができない", ["meals"]),
    ("お弁当を届けてほしい", ["meals"]),
    ("夕食の支度が負担になってきた", ["meals"]),
    # watch
    ("安否が心配", ["watch"]),
    ("一人暮らしで心配", ["watch"]),
    ("独り暮らしで夜が不安", ["watch"]),
    ("みまもりをしてほしい", ["watch"]),
    ("遠方の娘が、連絡が取れないと心配している", ["watch"]),
    # housework, kanji and kana
    ("掃除ができない", ["housework"]),
    ("そうじができなくなった", ["housework"]),
    ("せんたく物を干せない", ["housework"]),
    ("大掃除を手伝ってほしい", ["housework"]),
    ("草むしりと電球の交換を頼める人がいない", ["housework"]),
    # the care-prevention family: the most specific category wins
    ("足腰が弱ってきたので体操をしたい", ["exercise"]),
    ("介護予防教室に行きたい", ["exercise"]),
    ("近くのサロンに行きたい。話し相手がほしい", ["salon"]),
    ("ﾐﾆﾃﾞｲに通いたい", ["mini_day"]),
    ("お茶っこ飲みの集まりに参加したい", ["tea"]),
    ("老人クラブに入りたい", ["senior_club"]),
    ("まだ元気なので人の役に立ちたい", ["volunteer"]),
    # several needs in one note
    ("雪かきと、冬の間の安否確認をお願いしたい", ["watch", "snow"]),  # taxonomy order
    ("ゴミ出しは問題ないが、掃除が大変", ["housework"]),
    ("雪かきは息子がしてくれているが、買い物に行けない", ["shopping"]),
    # generic words give way to the specific need
    ("ボランティアの人に雪かきを頼みたい", ["snow"]),
    ("生活支援を受けたい。買い物を頼みたい", ["shopping"]),
    ("生活支援をお願いしたい", ["support"]),
]

NEGATIVES = [
    "",
    "   ",
    "特に困っていることはない",
    "夫婦とも元気に暮らしている",
    "今日は良い天気です",
    "選択肢がない",  # 選択 reads せんたく like 洗濯
    "そうじゃないけど元気",  # そうじ across a word boundary
    "バスタオルを洗った",  # バス inside another word
    "交流センターの前を通った",  # a place name, not a wish to meet people
    "病院から退院した",
    "買い物は自分でできる",
    "娘が近くに住んでいて、買い物や通院は娘がしてくれている",
    "雪かきは近所の人にしてもらっているので問題ない",
    "お金の管理が不安",
]


@pytest.mark.parametrize(("text", "codes"), SENTENCES, ids=[s for s, _ in SENTENCES])
def test_intake_sentences_name_their_categories(text: str, codes: list[str]) -> None:
    assert infer_categories(text) == codes


@pytest.mark.parametrize("text", NEGATIVES)
def test_sentences_without_a_need_name_nothing(text: str) -> None:
    assert infer_categories(text) == []


def test_none_names_nothing() -> None:
    assert infer_categories(None) == []


def test_each_inference_shows_the_cues_that_named_it() -> None:
    (found,) = infer("塵を捨てに行けない")
    assert found.code == "garbage" and "ゴミ" in found.cues
    (watch,) = infer("一人暮らしで心配")
    assert watch.cues == ("一人暮らし＋心配",)


def test_every_example_in_the_phrase_table_infers_its_category() -> None:
    data = json.loads(PHRASES_PATH.read_text(encoding="utf-8"))
    for rule in data["rules"]:
        for example in rule.get("examples", []):
            assert rule["category"] in infer_categories(example), example


def test_a_long_note_is_read_without_error() -> None:
    text = "今日は良い天気です。" * 800 + "ゴミ出しができない"
    assert infer_categories(text) == ["garbage"]


def test_a_broken_phrase_table_is_refused_naming_the_rule(tmp_path: Path) -> None:
    bad = tmp_path / "phrases.json"
    bad.write_text(
        json.dumps({"rules": [{"category": "teleport", "any": ["瞬間移動"]}]}), encoding="utf-8"
    )
    with pytest.raises(PhraseTableError, match="teleport"):
        _table(bad)
    bad.write_text(json.dumps({"rules": [{"category": "snow", "any": [""]}]}), encoding="utf-8")
    with pytest.raises(PhraseTableError, match="snow"):
        _table(bad)


def test_importing_does_not_load_the_dictionary() -> None:
    code = (
        "import matching.inference, matching.needs, directory.text as t; "
        "assert t._dictionary is None, 'Sudachi loaded at import time'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
