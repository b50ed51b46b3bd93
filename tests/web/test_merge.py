"""Merging a duplicate: referrals move (timelines whole), the duplicate is ended and
points to the one kept, both histories say so, nothing is deleted."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from directory.db import transaction
from directory.models import Resource, ResourceChange
from matching.models import Match, MatchEvent, Need
from web.audit import verify


@pytest.fixture
def demo(demo_town_with_needs: Engine) -> Engine:
    return demo_town_with_needs


def _refer(s: Session, need: str, resource: str, status: str, events: list[str]) -> int:
    need_id = s.scalar(select(Need.id).where(Need.external_id == need))
    res_id = s.scalar(select(Resource.id).where(Resource.external_id == resource))
    m = Match(need_id=need_id, resource_id=res_id, score=0.5, status=status, note=resource)
    s.add(m)
    s.flush()
    for k, e in enumerate(events):
        s.add(
            MatchEvent(
                need_id=need_id,
                match_id=m.id,
                status=e,
                happened_on=dt.date(2024, 6, 1 + k),
                recorded_by="test",
            )
        )
    return m.id


def test_merge_moves_referrals_and_keeps_every_history(demo: Engine, cli) -> None:  # type: ignore[no-untyped-def]
    with transaction(demo) as s:
        # N-0001 referred to both; N-0002 only to the duplicate
        _refer(s, "N-0001", "R-001", "contacted", ["proposed", "contacted"])
        _refer(s, "N-0001", "R-002", "connected", ["proposed", "contacted", "connected"])
        _refer(s, "N-0002", "R-002", "proposed", ["proposed"])
        events_before = s.scalar(select(func.count()).select_from(MatchEvent))
    result = cli("directory", "merge", "R-001", "R-002")
    assert result.exit_code == 0, result.stderr
    assert "R-002" in result.stderr and "R-001" in result.stderr
    with Session(demo) as s:
        kept = s.scalar(select(Resource).where(Resource.external_id == "R-001"))
        gone = s.scalar(select(Resource).where(Resource.external_id == "R-002"))
        assert kept is not None and gone is not None  # nothing deleted
        assert gone.status == "ended" and "R-001" in (gone.notes or "")
        matches = s.scalars(select(Match).where(Match.resource_id == kept.id)).all()
        by_need = {m.need.external_id: m for m in matches}
        assert set(by_need) >= {"N-0001", "N-0002"}
        assert by_need["N-0001"].status == "connected"  # the one further along
        assert "R-002" in (by_need["N-0001"].note or "") and "R-001" in by_need["N-0001"].note
        assert (
            s.scalar(select(func.count()).select_from(Match).where(Match.resource_id == gone.id))
            == 0
        )
        timeline = s.scalars(
            select(MatchEvent.status).where(MatchEvent.match_id == by_need["N-0001"].id)
        ).all()
        assert sorted(timeline) == sorted(
            ["proposed", "contacted", "proposed", "contacted", "connected"]
        )
        assert s.scalar(select(func.count()).select_from(MatchEvent)) == events_before
        history = {(c.resource_id, c.action) for c in s.scalars(select(ResourceChange))}
        assert (kept.id, "merge") in history and (gone.id, "merge") in history
        assert verify(s)[1] is None
    # misuse and refusals
    assert cli("directory", "merge", "R-001", "R-001").exit_code == 2
    assert cli("directory", "merge", "R-001", "R-9999").exit_code == 1
    added = cli(
        "user",
        "add",
        "sato",
        "--role",
        "tier2",
        "--area",
        "04445-A3",
        "--password-stdin",
        input_="correct horse battery staple\n",
    )
    assert added.exit_code == 0
    refused = cli("directory", "merge", "R-003", "R-005", "--as", "sato")
    assert refused.exit_code == 1
    with Session(demo) as s:
        assert s.scalar(select(Resource.status).where(Resource.external_id == "R-005")) != "ended"
