"""Why a need is unmet (DATA_FORMATS §5 ``unmet_reason``): the codes and their wording.

The codes are the stages of the matcher's funnel (see :mod:`matching.engine`), so their
order is the order of "most specific reason". The command line, the web pages and the
unmet map all word them with :func:`unmet_label`, so a 協議体 member reads the same
words on the map as the coordinator does on the screen. :class:`UnmetCount` is one row of
the count per district; it lives here, away from the database code, so the maps (which
must not import SQLAlchemy) share it with :mod:`matching.service`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from directory.i18n import N_, translate

__all__ = [
    "FUNNEL",
    "REFERRAL_END_LABELS",
    "UNMET_LABELS",
    "UNMET_REASONS",
    "UnmetCount",
    "unmet_label",
]

#: The hard constraints after category, in funnel order (see :mod:`matching.engine`).
FUNNEL = ("distance", "paused", "schedule", "eligibility", "capacity")
#: Every unmet reason, in funnel order: nothing of the category serves the place first.
UNMET_REASONS = ("no_resource", *FUNNEL)

#: code → catalogue msgid (:mod:`directory.i18n`), worded for residents as much as for
#: coordinators.
UNMET_LABELS: dict[str, str] = {
    "no_resource": N_("no resource of this kind serves the area"),
    "distance": N_("too far to get to"),
    "paused": N_("only paused resources"),
    "schedule": N_("days or times do not fit"),
    "eligibility": N_("not eligible"),
    "capacity": N_("no places left"),
}

#: The ends of a referral (DATA_FORMATS §8: the match statuses of
#: ``matching.models.MATCH_END_STATUSES``, in that order), which the unmet-needs reports
#: count beside the reasons above, in the same ``reason`` field.
REFERRAL_END_LABELS: dict[str, str] = {
    "declined": N_("the resident declined"),
    "not_eligible": N_("turned out not to be eligible"),
    "no_capacity": N_("the resource had no room"),
    "unreachable": N_("could not be contacted"),
    "ended": N_("was connected, then stopped"),
}


def unmet_label(code: str, lang: str = "ja") -> str:
    """The words for an unmet reason or a referral's end in ``lang`` ("ja" or "en"); an
    unknown code is shown as it is rather than hidden."""
    msgid = UNMET_LABELS.get(code) or REFERRAL_END_LABELS.get(code)
    return code if msgid is None else translate(msgid, lang)


@dataclass(frozen=True)
class UnmetCount:
    """One row of ``tsunagu unmet --json``: unmet needs of a category in a district (or
    in the area / municipality they roll up to) for one reason. ``district`` is the
    district code, ``name`` its name."""

    district: str
    name: str
    category: str
    reason: str
    count: int

    def as_json(self) -> dict[str, Any]:
        """The §5 JSON object of this row."""
        return {
            "district": self.district,
            "name": self.name,
            "category": self.category,
            "reason": self.reason,
            "count": self.count,
        }
