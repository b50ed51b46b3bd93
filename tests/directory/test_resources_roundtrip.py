"""Export and re-import change nothing, whatever awkward Japanese the cells hold."""

from __future__ import annotations

import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from directory.db import transaction
from directory.exports import export_rows, write_csv, write_xlsx
from directory.geography import import_districts, import_venues
from directory.resources import COLUMNS, import_resources

DATA = Path(__file__).resolve().parents[1] / "data" / "other_town"

AWKWARD = (
    "ｶﾞｯｺｳﾏｴ サロン〜～~ー－―‐㈱髙橋①②ヴゔゝゞ々〆　\u3000\"',\n=+-@;、・（）()「」"
    "🍵漢字かなカナabcＡＢＣ１２３"
)
text = st.text(alphabet=AWKWARD, min_size=1, max_size=30).filter(lambda s: s.strip())
optional_text = st.one_of(st.none(), text)
CATEGORIES = [
    "サロン",
    "ふれあい・いきいきサロン",
    "ﾐﾆﾃﾞｲ",
    "見守り・安否確認",
    "雪かき",
    "ごみ出し",
    "配食",
    "移動販売",
    "百歳体操",
    "老人クラブ",
    "ボランティア",
    "transport",
    "tea",
]
SCHEDULES = [
    ("月水金", "10:00", "12:00", None),
    ("木", "10時", "12時", "第2・第4木曜"),
    (None, None, None, "毎月15日"),
    ("平日", "9:00", "11:30", "祝日休み 年末年始休み"),
    (None, "13時30分", "15時", "毎月第1月曜 12月～3月"),
    (None, None, None, None),
    ("土日", None, None, None),
    (None, None, None, "不定期（要相談）"),
]
DISTRICTS = ["本町一区", "本町二区", "99999-03", "上ノ原", "全域"]


@st.composite
def resource_rows(draw: st.DrawFn) -> list[dict[str, str | None]]:
    n = draw(st.integers(min_value=1, max_value=6))
    rows = []
    for i in range(n):
        days, start, end, note = draw(st.sampled_from(SCHEDULES))
        located = draw(st.booleans())
        rows.append(
            {
                "ID": f"P-{i}",
                "名称": draw(text),
                "種別": ";".join(
                    draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3))
                ),
                "名称_カナ": draw(optional_text),
                "説明": draw(optional_text),
                "団体名": draw(
                    st.one_of(st.none(), st.sampled_from(["㈱つなぐ", "(株)つなぐ", "社協"]))
                ),
                "住所": draw(optional_text),
                "方書": draw(optional_text),
                "緯度": f"{35.0 + draw(st.floats(0.001, 0.039)):.6f}" if located else None,
                "経度": f"{136.0 + draw(st.floats(0.001, 0.039)):.6f}" if located else None,
                "対象地区": ";".join(
                    draw(st.lists(st.sampled_from(DISTRICTS), max_size=3, unique=True))
                )
                or None,
                "利用可能曜日": days,
                "開始時間": start,
                "終了時間": end,
                "利用可能日時特記事項": note,
                "定員": draw(st.one_of(st.none(), st.integers(0, 500).map(str))),
                "空き": draw(st.sampled_from([None, "あり", "なし", "3", "0"])),
                "費用": draw(st.sampled_from([None, "無料", "100円", "1回300円", "実費"])),
                "対象者": draw(
                    st.sampled_from([None, "65歳以上", "要支援・要介護", "独居の方", "どなたでも"])
                ),
                "送迎": draw(st.sampled_from([None, "あり", "なし"])),
                "電話番号": draw(st.sampled_from([None, "0000-00-0001", "=1+1"])),
                "URL": None,
                "状態": draw(st.sampled_from([None, "活動中", "休止中", "終了"])),
                "公開": draw(st.sampled_from([None, "可", "否"])),
                "最終確認日": draw(
                    st.sampled_from(
                        [
                            None,
                            "2024-04-01",
                            "2024/4/1",
                            "令和6年4月1日",
                            "令和元年5月1日",
                            "R5.10.2",
                        ]
                    )
                ),
                "備考": draw(optional_text),
            }
        )
    return rows


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=resource_rows(), as_xlsx=st.booleans())
def test_export_then_import_is_the_identity(
    engine: Engine, tmp_path: Path, rows: list[dict[str, str | None]], as_xlsx: bool
) -> None:
    with transaction(engine) as s:
        if import_districts(s, DATA / "districts.geojson").created:
            import_venues(s, DATA / "venues.geojson")
    header = [c.header for c in COLUMNS]
    first = tmp_path / f"{uuid.uuid4().hex}.csv"
    first.write_bytes(write_csv(header, [[r[h] or "" for h in header] for r in rows]))
    with transaction(engine) as s:
        # examples share the database: this example's rows replace the last one's (same IDs)
        import_resources(s, first, replace=True)
    with Session(engine) as s:
        header_out, exported = export_rows(s, include_private=True)
    data = write_xlsx(header_out, exported) if as_xlsx else write_csv(header_out, exported)
    again = tmp_path / f"{uuid.uuid4().hex}.{'xlsx' if as_xlsx else 'csv'}"
    again.write_bytes(data)
    with transaction(engine) as s:
        result = import_resources(s, again)
    ids = {r["ID"] for r in rows}
    assert result.created == 0 and result.updated == 0
    with Session(engine) as s:
        _, exported_again = export_rows(s, include_private=True)
    assert exported_again == exported
    assert {r[0] for r in exported} >= ids
