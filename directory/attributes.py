"""The attribute vocabulary of 対象者 and of needs: one list of words for both sides.

A resource's 対象者 cell (「一人暮らしの高齢者」) and a need's ``attributes``
(「単身」) are matched word for word, so they must be read with the same synonyms: a word
accepted on one side and not on the other would make a resource silently unmatchable.
"""

from __future__ import annotations

import re

from directory.text import normalize

__all__ = ["ATTRIBUTES", "ATTRIBUTE_SYNONYMS", "attributes_in", "canonical_attribute"]

#: The attributes the matcher understands, in the order they are stored and shown.
ATTRIBUTES: tuple[str, ...] = ("要支援", "要介護", "事業対象者", "独居", "高齢者のみ世帯")

#: Words as coordinators write them → the canonical attribute.
ATTRIBUTE_SYNONYMS: dict[str, str] = {
    "要支援": "要支援",
    "要介護": "要介護",
    "事業対象者": "事業対象者",
    "独居": "独居",
    "一人暮らし": "独居",
    "ひとり暮らし": "独居",
    "独り暮らし": "独居",
    "単身": "独居",
    "高齢者のみ世帯": "高齢者のみ世帯",
    "高齢者世帯": "高齢者のみ世帯",
    "高齢者夫婦世帯": "高齢者のみ世帯",
}

_KEYS = {normalize(word): canonical for word, canonical in ATTRIBUTE_SYNONYMS.items()}
_CARE_LEVEL = re.compile(r"(要支援|要介護)[0-9]+")


def canonical_attribute(word: str) -> str | None:
    """The canonical attribute of one word (「ひとり暮らし」→ 独居, 「要介護3」→ 要介護),
    None when the word is not in the vocabulary."""
    return _KEYS.get(_CARE_LEVEL.sub(r"\1", normalize(word)))


def attributes_in(text: str) -> tuple[str, ...]:
    """The attributes a free 対象者 text names anywhere (「単身の高齢者、要支援」), in
    :data:`ATTRIBUTES` order."""
    key = normalize(text)
    found = {canonical for word, canonical in _KEYS.items() if word in key}
    return tuple(a for a in ATTRIBUTES if a in found)
