"""Resident handouts as the command line and the public pages both make them: which
resources a handout of some kinds holds, and how to split one that runs past a folded
sheet (:data:`maps.pdf.HANDOUT_PAGES`).

``tsunagu map resident --pdf`` words the advice as a warning naming its options; the
public pages (:mod:`web.public_views`) show the same advice with links. The rule lives
here once: the whole municipality splits into one handout per area, an area into one per
kind of resource (the categories one level below those asked for that the list holds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from directory.taxonomy import load_taxonomy

__all__ = ["HandoutSplit", "of_kinds", "split_advice", "subtree"]

R = TypeVar("R")


def subtree(code: str) -> set[str]:
    """``code`` and every category below it, reference categories included (a handout
    of a kind shows all of it; matching's narrower rule is :meth:`Taxonomy.descendants`)."""
    taxonomy = load_taxonomy()
    return {code} | {c.code for c in taxonomy if code in taxonomy.ancestors(c.code)}


def of_kinds(resources: Sequence[R], codes: Sequence[str]) -> list[R]:
    """The resources having a category that is one of ``codes`` or below one."""
    wanted = set().union(*(subtree(c) for c in codes))
    return [r for r in resources if wanted.intersection(getattr(r, "categories", ()))]


@dataclass(frozen=True)
class HandoutSplit:
    """A handout too long for one folded sheet, and how to split it: ``by`` is ``"area"``
    or ``"kind"`` (None when no split helps), ``parts`` the codes and names to split by."""

    pages: int
    limit: int
    by: str | None
    parts: tuple[tuple[str, str], ...]


def split_advice(
    pages: int,
    area: str | None,
    districts: Sequence[Any],
    resources: Sequence[Any],
    categories: Sequence[str] = (),
    lang: str = "ja",
) -> HandoutSplit | None:
    """None when ``pages`` fit one handout; else how to split it (see the module)."""
    from maps.pdf import HANDOUT_PAGES

    if pages <= HANDOUT_PAGES:
        return None
    areas = [d for d in districts if d.level == "area"] if area is None else []
    if len(areas) > 1:
        return HandoutSplit(pages, HANDOUT_PAGES, "area", tuple((d.code, d.name) for d in areas))
    taxonomy = load_taxonomy()
    below = [c for code in categories for c in taxonomy.children(code)] or list(taxonomy.roots())
    held = {code for r in resources for code in r.categories}
    kinds = [c for c in below if held & subtree(c)]
    if len(kinds) > 1:
        return HandoutSplit(
            pages, HANDOUT_PAGES, "kind", tuple((c, taxonomy[c].label(lang)) for c in kinds)
        )
    return HandoutSplit(pages, HANDOUT_PAGES, None, ())
