"""Reasons in both languages: Japanese by default (stored matches and §5 JSON as before),
English when asked, and a Japanese reason can be told in English afterwards (the CLI's
``--lang en`` does this without scoring twice)."""

from __future__ import annotations

import datetime as dt

import pytest

from matching.engine import (
    MatchInputError,
    Reason,
    describe_reason,
    parse_attributes,
    parse_months,
    result_to_json,
    score,
)
from tests.matching.test_engine import need, north, res, snap_of


def _snap():  # type: ignore[no-untyped-def]
    return snap_of(
        res(
            "R-1",
            schedule="火・金 7:00～8:30",
            district_ids=(3,),
            seats_left=3,
            accepts_new=True,
            attributes=("独居",),
            min_age=65,
            last_verified_on=dt.date(2024, 4, 1),
            **north(300),
        )
    )


def test_english_reasons_for_a_match() -> None:
    snap = _snap()
    ask = need(days=(1, 4), time=(420, 480), age=80, attributes=("独居",))
    ja, en = score(snap, ask), score(snap, ask, lang="en")
    assert ja.matches[0].reasons == (
        "対象地区内・徒歩約300m",
        "火・金 7:00–8:00 に活動",
        "種別: サロン",
        "空きあり（残り3名）",
        "対象者の条件を満たす（65歳以上・独居）",
        "2024年4月1日確認",
    )
    assert en.matches[0].reasons == (
        "in the served district, about 300 m on foot",
        "active on Tue, Fri at 7:00–8:00",
        "category: Salon",
        "places available (3 left)",
        "meets the conditions (aged 65 or over, living alone)",
        "verified 2024-04-01",
    )
    # the Japanese reasons know their English words, and the other way round
    assert [describe_reason(r, "en") for r in ja.matches[0].reasons] == list(en.matches[0].reasons)
    assert [describe_reason(r, "ja") for r in en.matches[0].reasons] == list(ja.matches[0].reasons)
    assert all(isinstance(r, Reason) for r in ja.matches[0].reasons)


def test_english_near_miss_and_json() -> None:
    snap = snap_of(
        res("R-1", ("garbage",), "火・金 7:00～8:30", district_ids=(3,), status="paused")
    )
    result = score(snap, need(categories=("garbage",), days=(5,)))
    assert result.near_miss is not None
    assert result.near_miss.reasons == ("休止中", "土曜の活動なし")
    assert result_to_json(result)["near_miss"]["reasons"] == ["休止中", "土曜の活動なし"]
    assert result_to_json(result, "en")["near_miss"]["reasons"] == [
        "paused",
        "no activity on Sat",
    ]
    # a stored reason read back is a plain string: shown as it is
    assert describe_reason("土曜の活動なし", "en") == "土曜の活動なし"


def test_the_cache_keeps_languages_apart() -> None:
    """Reasons are cached per wording and language: asking in one does not leak into the other."""
    snap = _snap()
    ask = need(days=(1,))
    for _ in range(2):
        assert score(snap, ask, lang="en").matches[0].reasons[1:3] == (
            "active on Tue",
            "category: Salon",
        )
        assert score(snap, ask).matches[0].reasons[1:3] == ("火に活動", "種別: サロン")


def test_input_errors_in_both_languages() -> None:
    with pytest.raises(ValueError, match="月「13月目」を読めません") as month:
        parse_months(["13月目"])
    assert isinstance(month.value, MatchInputError)
    assert month.value.describe("en") == "cannot read the month “13月目” (e.g. 12)"
    with pytest.raises(MatchInputError) as attr:
        parse_attributes(["猫好き"])
    assert str(attr.value).startswith("属性「猫好き」を読めません（要支援・要介護")
    assert attr.value.describe("en").startswith("cannot read the attribute “猫好き” (one of 要支援")
    with pytest.raises(MatchInputError) as bad:
        need(months=(13,))
    assert bad.value.describe("en") == "need N-1: months are 1 … 12: (13,)"
    assert str(bad.value) == "ニーズ N-1: 月は 1～12 です: (13,)"
