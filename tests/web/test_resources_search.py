"""/resources: search that forgives (kana, width, typos), facets with counts, who sees what."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from resourcehelpers import OWN_RESOURCE, PAUSED_RESOURCE, PRIVATE_RESOURCE, Town, town_accounts
from sqlalchemy import Engine, func, select

from directory.models import Resource, resource_category
from web.db import get_db
from web.search import index_cache


@pytest.fixture
def town(demo_town: Engine, app: Flask) -> Town:
    return town_accounts(app)


def found(page: str) -> list[str]:
    """The resource ids listed on a search page, in order."""
    return re.findall(r'<li data-resource="([^"]+)">', page)


def without_token(page: str) -> str:
    """A page without its CSRF token, which is signed with the second it was made in."""
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token"', page)


def total(page: str) -> int:
    m = re.search(r'<p class="total" role="status">(\d+)', page)
    assert m, "no total on the page"
    return int(m[1])


def names(town: Town, ids: list[str]) -> list[str]:
    return [town.resource(i).name for i in ids]


def test_hiragana_and_half_width_find_katakana(town: Town) -> None:
    client = town.client()
    hiragana = found(client.get("/resources?q=さろん").get_data(as_text=True))
    half_width = found(client.get("/resources?q=ｻﾛﾝ").get_data(as_text=True))
    assert OWN_RESOURCE in hiragana  # 赤塚ふれあいサロン
    assert hiragana == half_width
    assert all("サロン" in n for n in names(town, hiragana[:5]))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ごみだし", "ゴミ出し"),  # kana for kanji, via the category's reading
        ("ぼらんてあ", "ボランティア"),  # a kana left out
        ("ボランティヤ", "ボランティア"),  # a wrong kana
        ("ふれあいさろm", "ふれあいサロン"),  # a typo at the end
    ],
)
def test_misspelt_words_still_find(town: Town, query: str, expected: str) -> None:
    page = town.client().get(f"/resources?q={query}").get_data(as_text=True)
    ids = found(page)
    assert ids, query
    assert any(expected in n or expected.replace("ゴミ", "ごみ") in n for n in names(town, ids[:3]))


def test_an_unrelated_word_finds_nothing(town: Town) -> None:
    page = town.client().get("/resources?q=ぱそこん教室").get_data(as_text=True)
    assert found(page) == [] and total(page) == 0
    assert "見つかりません" in page or "Nothing was found" in page


def test_category_facet_counts_agree_with_the_database_and_the_filter(town: Town) -> None:
    client = town.client("viewer")  # signed in: every resource
    page = client.get("/resources").get_data(as_text=True)
    options = dict(re.findall(r'<option value="([a-z_]+)">[^<(]+\((\d+)\)</option>', page))
    with town.app.app_context(), get_db().read() as s:
        salons = s.scalar(
            select(func.count(func.distinct(resource_category.c.resource_id))).where(
                resource_category.c.category_code == "salon"
            )
        )
    assert int(options["salon"]) == salons
    filtered = client.get("/resources?category=salon").get_data(as_text=True)
    assert total(filtered) == salons
    # a parent category counts its children: 通いの場 ⊇ サロン
    assert int(options["gathering"]) >= salons
    # the label and a synonym are accepted as the filter too (DATA_FORMATS §1)
    assert total(client.get("/resources?category=ふれあいサロン").get_data(as_text=True)) == salons


def test_weekday_and_open_on_narrow_the_list_and_the_counts_add_up(town: Town) -> None:
    client = town.client("viewer")
    page = client.get("/resources?q=さろん").get_data(as_text=True)
    counts = {
        day: int(n)
        for day, n in re.findall(
            r'name="weekday" value="([A-Z]{2})"> \S+ <span class="count">\((\d+)\)', page
        )
    }
    assert set(counts) == {"MO", "TU", "WE", "TH", "FR", "SA", "SU"}
    tuesday = client.get("/resources?q=さろん&weekday=火").get_data(as_text=True)
    assert total(tuesday) == counts["TU"] > 0
    assert total(tuesday) < total(page)
    # open on a Tuesday: only resources with a Tuesday schedule can be open
    day = client.get("/resources?q=さろん&open_on=2026-12-08").get_data(as_text=True)
    assert 0 < total(day) <= counts["TU"]
    assert set(found(day)) <= set(
        found(
            client.get("/resources?q=さろん&weekday=TU&open_on=2026-12-08").get_data(as_text=True)
        )
    ) | set(found(day))


def test_area_and_district_filters(town: Town) -> None:
    client = town.client("viewer")
    everything = total(client.get("/resources").get_data(as_text=True))
    area = client.get(f"/resources?area={town.own}").get_data(as_text=True)
    assert 0 < total(area) < everything
    assert OWN_RESOURCE in found(
        client.get(f"/resources?area={town.own}&q=赤塚").get_data(as_text=True)
    )
    assert OWN_RESOURCE not in found(
        client.get(f"/resources?area={town.other}&q=赤塚").get_data(as_text=True)
    )
    # 字赤塚８番 is one of the districts R-001 serves
    district = client.get("/resources?district=04445001009").get_data(as_text=True)
    assert OWN_RESOURCE in found(district)


def test_anonymous_users_see_public_active_resources_only(town: Town) -> None:
    anonymous = town.client()
    signed_in = town.client("viewer")
    for resource, query in ((PRIVATE_RESOURCE, "見守りネットワーク"), (PAUSED_RESOURCE, "広原")):
        assert resource not in found(anonymous.get(f"/resources?q={query}").get_data(as_text=True))
        assert resource in found(signed_in.get(f"/resources?q={query}").get_data(as_text=True))
        assert anonymous.get(f"/resources/{resource}").status_code == 404
        assert signed_in.get(f"/resources/{resource}").status_code == 200
    with town.app.app_context(), get_db().read() as s:
        visible = s.scalar(
            select(func.count(Resource.id)).where(
                Resource.public.is_(True), Resource.status == "active"
            )
        )
        every = s.scalar(select(func.count(Resource.id)))
    assert total(anonymous.get("/resources").get_data(as_text=True)) == visible
    assert total(signed_in.get("/resources").get_data(as_text=True)) == every > visible


def test_pages_of_results(town: Town) -> None:
    client = town.client("viewer")
    first = client.get("/resources").get_data(as_text=True)
    second = client.get("/resources?page=2").get_data(as_text=True)
    assert len(found(first)) == 20 and found(second)
    assert not set(found(first)) & set(found(second))
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_result_lines_carry_phone_address_and_schedule_in_words(town: Town) -> None:
    page = town.client().get("/resources?q=赤塚ふれあいサロン").get_data(as_text=True)
    line = re.search(rf'<li data-resource="{OWN_RESOURCE}">(.*?)</li>', page, re.S)
    assert line
    assert "0229-00-2001" in line[1]  # phone
    assert "宮城県加美町下新田字松木3" in line[1]  # address
    assert "第2・第4木曜" in line[1] and "10:00" in line[1]  # the schedule in words


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("category=ぱそこん", "category"),
        ("weekday=火星", "weekday"),
        ("open_on=12月1日", "open_on"),
        ("page=0", "page"),
    ],
)
def test_unreadable_filters_are_400_with_a_japanese_message(
    town: Town, query: str, field: str
) -> None:
    response = town.client().get(f"/resources?{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page
    assert "Traceback" not in page
    message = re.search(r'<p class="error-message" role="alert">(.*?)</p>', page, re.S)
    assert message and re.search(r"[ぁ-んァ-ン一-龥]", message[1])


def test_an_edit_is_found_by_the_next_search(town: Town) -> None:
    """The index follows the directory version: an edit is searchable at once."""
    from resourcehelpers import form_of

    client = town.client("coord")
    assert found(client.get("/resources?q=あかつかのつどい").get_data(as_text=True)) == []
    form = form_of(client, f"/resources/{OWN_RESOURCE}/edit")
    form["kana"] = "アカツカノツドイ"
    assert client.post(f"/resources/{OWN_RESOURCE}/edit", data=form).status_code == 303
    assert found(client.get("/resources?q=あかつかのつどい").get_data(as_text=True)) == [
        OWN_RESOURCE
    ]
    with town.app.app_context():
        cache = index_cache(get_db())
        # built once; the edit was applied from the directory's change log, not rebuilt
        assert (cache.builds, cache.updates) == (1, 1)
    # an import says nothing of what it changed: the next search rebuilds, and finds it
    import tempfile
    from pathlib import Path

    from directory.db import transaction
    from directory.resources import import_resources

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "one.csv"
        path.write_text("ID,名称,種別,対象地区\nR-800,ふくろう体操（架空）,体操,04445001009\n")
        with town.app.app_context(), transaction(get_db().engine) as s:
            import_resources(s, path)
    assert found(client.get("/resources?q=フクロウ").get_data(as_text=True)) == ["R-800"]
    with town.app.app_context():
        assert index_cache(get_db()).builds == 2


def test_a_repeated_search_is_answered_from_memory_until_the_directory_changes(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Common words are asked again and again: the same question of the same version runs
    the scan once; a signed-in user's answer (private resources too) is never an
    anonymous one's; an edit makes the next answer new."""
    from resourcehelpers import form_of

    import web.search as search_module

    runs: list[str] = []
    real = search_module.run_search

    def counted(indexes, query, **kw):  # type: ignore[no-untyped-def]
        runs.append(query.q)
        return real(indexes, query, **kw)

    monkeypatch.setattr(search_module, "run_search", counted)
    coord, anonymous = town.client("coord"), town.client()
    first = coord.get("/resources?q=サロン").get_data(as_text=True)
    again = coord.get("/resources?q=サロン").get_data(as_text=True)
    assert without_token(again) == without_token(first)
    assert runs == ["サロン"]
    english = coord.get("/resources?q=サロン&lang=en").get_data(as_text=True)
    assert "resources found" in english and "resources found" not in first
    assert found(english) == found(first)
    runs.remove("サロン")  # asked in another language: its own answer
    # the same words, first signed in, then anonymous: two answers
    assert PRIVATE_RESOURCE in found(
        coord.get("/resources?q=見守りネットワーク").get_data(as_text=True)
    )
    public = found(anonymous.get("/resources?q=見守りネットワーク").get_data(as_text=True))
    assert PRIVATE_RESOURCE not in public
    assert runs == ["サロン", "見守りネットワーク", "見守りネットワーク"]
    form = form_of(coord, f"/resources/{OWN_RESOURCE}/edit")
    form["name"] = "赤塚ふれあいサロン（改）"
    assert coord.post(f"/resources/{OWN_RESOURCE}/edit", data=form).status_code == 303
    assert "赤塚ふれあいサロン（改）" in coord.get("/resources?q=サロン").get_data(as_text=True)
    assert runs == ["サロン", "見守りネットワーク", "見守りネットワーク", "サロン"]
