"""Unmet reasons: one list of codes in funnel order, one wording per language."""

from __future__ import annotations

import maps
from matching import engine, service
from matching.reasons import FUNNEL, UNMET_LABELS, UNMET_REASONS, UnmetCount, unmet_label


def test_the_codes_are_the_funnel_stages_and_the_engine_uses_them() -> None:
    assert UNMET_REASONS == (
        "no_resource",
        "distance",
        "paused",
        "schedule",
        "eligibility",
        "capacity",
    )
    assert engine.UNMET_REASONS is UNMET_REASONS and engine.FUNNEL is FUNNEL
    assert set(UNMET_LABELS) == set(UNMET_REASONS)


def test_every_reason_has_distinct_japanese_and_english_words() -> None:
    ja = [unmet_label(code) for code in UNMET_REASONS]
    en = [unmet_label(code, "en") for code in UNMET_REASONS]
    assert len(set(ja)) == len(set(en)) == len(UNMET_REASONS)
    assert all(not word.isascii() for word in ja) and all(word.isascii() for word in en)
    assert unmet_label("distance") == unmet_label("distance", "ja") == "遠くて通えない"
    assert unmet_label("distance", "en_US") == "too far to get to"


def test_an_unknown_code_is_shown_as_it_is() -> None:
    assert unmet_label("something_new") == unmet_label("something_new", "en") == "something_new"


def test_one_unmet_count_type_for_the_service_the_cli_and_the_maps() -> None:
    assert service.UnmetCount is UnmetCount is maps.UnmetCount
    row = UnmetCount("99999-01", "北町", "snow", "distance", 4)
    assert row.as_json() == {
        "district": "99999-01",
        "name": "北町",
        "category": "snow",
        "reason": "distance",
        "count": 4,
    }
