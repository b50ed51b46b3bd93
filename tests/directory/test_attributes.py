"""The attribute vocabulary shared by 対象者 cells and needs."""

from __future__ import annotations

import pytest

from directory.attributes import (
    ATTRIBUTE_SYNONYMS,
    ATTRIBUTES,
    attributes_in,
    canonical_attribute,
)
from directory.resources import parse_eligibility


def test_every_synonym_names_a_known_attribute_and_every_attribute_names_itself() -> None:
    assert set(ATTRIBUTE_SYNONYMS.values()) == set(ATTRIBUTES)
    for attribute in ATTRIBUTES:
        assert canonical_attribute(attribute) == attribute


@pytest.mark.parametrize(
    ("word", "canonical"),
    [
        ("単身", "独居"),
        ("ﾋﾄﾘ暮らし", "独居"),
        ("独り暮らし", "独居"),
        ("高齢者夫婦世帯", "高齢者のみ世帯"),
        ("高齢者世帯", "高齢者のみ世帯"),
        ("要支援２", "要支援"),
        ("要介護3", "要介護"),
        ("元気", None),
    ],
)
def test_one_word(word: str, canonical: str | None) -> None:
    assert canonical_attribute(word) == canonical


def test_a_cell_names_attributes_anywhere_in_the_vocabulary_order() -> None:
    assert attributes_in("単身の高齢者、要支援の方") == ("要支援", "独居")
    assert attributes_in("高齢者夫婦世帯・一人暮らし") == ("独居", "高齢者のみ世帯")
    assert attributes_in("どなたでも") == ()
    assert parse_eligibility("65歳以上の単身の方") == (65, ("独居",))
