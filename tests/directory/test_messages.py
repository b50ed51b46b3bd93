"""Every message exists in Japanese and English with the same blanks to fill."""

from __future__ import annotations

import string

import pytest

from directory.messages import MESSAGES, message, texts


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_both_languages_take_the_same_parameters(code: str) -> None:
    ja, en = texts(code)
    assert ja.strip() and en.strip()
    assert fields(ja) == fields(en), code
    assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in ja), code


def test_message_fills_in_the_language_asked_for() -> None:
    assert (
        message("unknown_parent", "ja", value="X")
        == "parent「X」はこのファイルにもデータベースにもありません"
    )
    assert (
        message("unknown_parent", "en", value="X")
        == "the parent 'X' is neither in this file nor in the database"
    )
