"""PRIVACY: nothing a resident could not legitimately see reaches the resident map.

Canaries are planted in every place such text lives: a need's pseudonym, text and match
note (when the matching tables exist), every free-text field of private (公開=否), paused
and ended resources, and the fields of a public resource that are not published
(description, notes, eligibility, fee, URL, organisation). Then every published output is
built: the resident map of each area and of the whole town, through the builder and
through the web app (page and download), and none may contain any canary.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from directory.demo import credits
from directory.map_data import coordinator_resources, map_districts, public_resources
from directory.models import District, Resource
from directory.resources import import_resources
from maps import resident_map, standalone_html

HEADER = [
    "ID",
    "名称",
    "種別",
    "説明",
    "団体名",
    "住所",
    "方書",
    "緯度",
    "経度",
    "対象地区",
    "利用可能曜日",
    "開始時間",
    "終了時間",
    "利用可能日時特記事項",
    "対象者",
    "費用",
    "電話番号",
    "URL",
    "状態",
    "公開",
    "最終確認日",
    "備考",
]
# A place inside the demo town's first area, and a district there (from the seeds).
LAT, LON, DISTRICT = "38.548893", "140.878152", "字赤塚８番"


def canary(tag: str) -> str:
    return f"KANARIA{tag}ZQ"


def row(
    rid: str, *, name: str, status: str, public: str, tag: str, hide_all: bool, located: bool = True
) -> list[str]:
    """A resource row; with ``hide_all`` every free-text field holds a canary, otherwise
    only the fields a published map must never show."""
    c = canary(tag)
    return [
        rid,
        name if not hide_all else f"{c}名称サロン",
        "サロン",
        f"{c}説明 ゴミ出しできない方",
        f"{c}団体",
        f"宮城県加美町{c}住所" if hide_all else "宮城県加美町字町裏1",
        f"{c}方書" if hide_all else "集会所",
        LAT if located else "",
        LON if located else "",
        DISTRICT,
        "火",
        "10:00",
        "12:00",
        f"{c}特記" if hide_all else "祝日休み",
        f"{c}対象者",
        f"{c}費用",
        "0229-00-9999" if not hide_all else "0229-99-9999",
        f"https://example.invalid/{c}",
        status,
        public,
        "2024-04-01",
        f"{c}備考 山田さん独居",
    ]


CANARY_ROWS = [
    row("CAN-1", name="", status="活動中", public="否", tag="PRIVATE", hide_all=True),
    row("CAN-2", name="", status="休止中", public="可", tag="PAUSED", hide_all=True),
    row("CAN-3", name="", status="終了", public="可", tag="ENDED", hide_all=True),
    row(
        "CAN-4",
        name="",
        status="活動中",
        public="否",
        tag="PRIVSERVED",
        hide_all=True,
        located=False,
    ),
    row(
        "CAN-5",
        name="公開されている集いの場",
        status="活動中",
        public="可",
        tag="PUBLICHIDDEN",
        hide_all=False,
    ),
]
NEED_CANARIES = {
    "pseudonym": canary("PSEUDONYM"),
    "text": canary("NEEDTEXT") + "ゴミ出し困難",
    "note": canary("MATCHNOTE"),
}
ALL_CANARIES = [
    canary(t)
    for t in (
        "PRIVATE",
        "PAUSED",
        "ENDED",
        "PRIVSERVED",
        "PUBLICHIDDEN",
        "PSEUDONYM",
        "NEEDTEXT",
        "MATCHNOTE",
    )
]


def plant_needs(session: Session) -> bool:
    """Needs and a match carrying canaries; False only while the matching models do not
    exist yet (once they do, their tables must be there)."""
    try:
        from matching.models import Match, Need
    except ImportError:
        return False
    assert inspect(session.get_bind()).has_table("need")
    district = session.scalars(select(District).where(District.level == "district")).first()
    resource = session.scalars(select(Resource).where(Resource.external_id == "CAN-5")).one()
    assert district is not None
    need = Need(
        external_id=canary("NEEDID"),
        resident_ref=NEED_CANARIES["pseudonym"],
        district_id=district.id,
        lat=float(LAT),
        lon=float(LON),
        text=NEED_CANARIES["text"],
        recorded_on=dt.date(2024, 5, 1),
    )
    session.add(need)
    session.flush()
    session.add(
        Match(
            need_id=need.id,
            resource_id=resource.id,
            score=0.9,
            note=NEED_CANARIES["note"],
            reasons=[NEED_CANARIES["note"]],
        )
    )
    session.flush()
    return True


@pytest.fixture
def planted(demo: Session, tmp_path: Path) -> tuple[Session, bool]:
    path = tmp_path / "canaries.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([HEADER, *CANARY_ROWS])
    import_resources(demo, path)
    demo.flush()
    needs = plant_needs(demo)
    demo.commit()
    return demo, needs


def assert_clean(html: str, where: str) -> None:
    for c in ALL_CANARIES:
        assert c not in html, f"{c} leaked into {where}"
    for text in NEED_CANARIES.values():
        assert text not in html, f"need data leaked into {where}"
    assert "山田さん" not in html and "ゴミ出しできない方" not in html


def test_the_canaries_are_planted_where_coordinators_can_see_them(
    planted: tuple[Session, bool],
) -> None:
    session, _ = planted
    names = {r.name for r in coordinator_resources(session)}
    assert {f"{canary(t)}名称サロン" for t in ("PRIVATE", "PAUSED", "ENDED", "PRIVSERVED")} <= names
    assert "公開されている集いの場" in {r.name for r in public_resources(session)}


def test_no_planted_text_reaches_any_resident_map(
    planted: tuple[Session, bool], maps_client: FlaskClient
) -> None:
    session, _ = planted
    areas = session.scalars(select(District.code).where(District.level != "district")).all()
    for code in [None, *areas]:
        m = resident_map(
            public_resources(session, area_code=code),
            map_districts(session, area_code=code),
            credits=credits(),
        )
        html = standalone_html(m)
        if code is None:
            assert "公開されている集いの場" in html  # published data does get through
        assert_clean(html, f"resident map {code}")
    for code in areas:
        for url in (f"/maps/resident?area={code}", f"/maps/resident?area={code}&download=1"):
            response = maps_client.get(url)
            assert response.status_code == 200
            assert_clean(response.get_data(as_text=True), url)


def test_no_planted_text_reaches_the_printable_pdf(planted: tuple[Session, bool]) -> None:
    from pypdf import PdfReader

    from maps.pdf import resident_pdf

    session, _ = planted
    areas = session.scalars(select(District.code).where(District.level != "district")).all()
    for code in [None, *areas]:
        pdf = resident_pdf(
            public_resources(session, area_code=code),
            map_districts(session, area_code=code),
            credits=credits(),
            title="地域資源マップ",
        )
        # Table cells wrap long names: join the lines so a wrapped canary is still found.
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
        text = text.replace("\n", "")
        if code is None:
            assert "公開されている集いの場" in text  # published data does get through
        assert_clean(text, f"resident PDF {code}")
