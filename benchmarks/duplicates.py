"""Benchmark: likely duplicates among a national-scale directory (issue 13: 150,000
resources in under 60 s).

Generates resources the way real lists name them — a place name, a kind (サロン, 長寿会,
お茶のみ会 …), sometimes a number (第2) or a nickname (「ひだまり」) — about 90 to a
municipality of 8 areas (Japan's 146,000 通いの場 over 1,741 municipalities),
60 % with a venue, a third sharing their town's 社協 telephone number; then plants 500
duplicates (kana, width and spacing variants of a name, the venue moved 5–60 m, or no
venue and the same phone) and checks how many :func:`directory.duplicates.pairs_among`
finds, and how many it reports that were not planted. Readings come from the 名称_カナ
column, as in the template (``--no-kana`` makes SudachiPy read every name instead).

    python benchmarks/duplicates.py [--quick] [--rows N] [--no-kana]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# This folder holds maps.py and web.py: first on sys.path (a script's own folder) they
# would stand in for the packages of those names, so the project comes first instead.
sys.path[:] = [
    str(HERE.parent),
    *(p for p in sys.path if Path(p or ".").resolve() != HERE),
    str(HERE),  # last: the sibling benchmarks stay importable (reports imports match)
]

from directory.duplicates import Entry, pairs_among  # noqa: E402
from directory.text import normalize, reading  # noqa: E402

TARGET_SECONDS = 60.0
PLACES = [
    ("本町", "ほんまち"),
    ("新田", "しんでん"),
    ("赤塚", "あかつか"),
    ("赤坂", "あかさか"),
    ("宮崎", "みやざき"),
    ("小野田", "おのだ"),
    ("北町", "きたまち"),
    ("南町", "みなみまち"),
    ("上野目", "かみのめ"),
    ("中嶋", "なかじま"),
    ("柳沢", "やなぎさわ"),
    ("旭", "あさひ"),
    ("青野", "あおの"),
    ("滝庭", "たきにわ"),
    ("鹿原", "かのはら"),
    ("芋沢", "いもざわ"),
]
NICKNAMES = [
    (f"「{a}{b}」", f"「{a}{b}」")
    for a in (
        "ひだまり",
        "なごみ",
        "ぬくもり",
        "やまびこ",
        "たんぽぽ",
        "すみれ",
        "さくら",
        "わかば",
    )
    for b in ("", "の会", "クラブ", "広場", "倶楽部")
]
KINDS = [
    ("ふれあいサロン", "ふれあいさろん"),
    ("いきいきサロン", "いきいきさろん"),
    ("長寿会", "ちょうじゅかい"),
    ("お茶のみ会", "おちゃのみかい"),
    ("百歳体操", "ひゃくさいたいそう"),
    ("ミニデイ", "みにでい"),
    ("見守り隊", "みまもりたい"),
    ("ごみ出しサポート", "ごみだしさぽーと"),
]


def generate(rows: int, with_kana: bool, seed: int = 5) -> tuple[list[Entry], set[tuple[str, str]]]:
    rng = random.Random(seed)
    out: list[Entry] = []
    planted: set[tuple[str, str]] = set()
    # about 90 resources a municipality, as Japan's 146,000 通いの場 over 1,741 of them
    n_towns = max(5, rows // 90)
    towns = [(31.0 + rng.random() * 12, 130.0 + rng.random() * 12) for _ in range(n_towns)]
    for i in range(rows):
        town = i % n_towns
        area = town * 8 + rng.randrange(8)
        lat0, lon0 = towns[town]
        place, place_kana = rng.choice(PLACES)
        kind, kind_kana = rng.choice(KINDS)
        n = rng.randrange(1, 9)
        number, number_kana = (f"第{n}", f"だい{n}") if rng.random() < 0.3 else ("", "")
        nick, nick_kana = rng.choice(NICKNAMES) if rng.random() < 0.7 else ("", "")
        name = f"{place}{number}{kind}{nick}"
        located = rng.random() < 0.6
        lat = lat0 + rng.random() * 0.2 if located else None
        lon = lon0 + rng.random() * 0.2 if located else None
        phone = f"0229{town:02d}1000" if rng.random() < 0.33 else f"0229{i:06d}"  # 社協
        kana = place_kana + number_kana + kind_kana + nick_kana
        out.append(_entry(i, name, kana, lat, lon, phone, area, with_kana))
    for k in range(min(500, rows // 10)):
        src = out[rng.randrange(len(out))]
        variant = rng.choice(["width", "spaces", "hiragana"])
        name = {
            "width": src.name.replace("サロン", "ｻﾛﾝ"),
            "spaces": " ".join(src.name),
            "hiragana": src.sound,
        }[variant]
        if src.lat is not None and src.lon is not None and rng.random() < 0.7:
            moved = rng.uniform(5, 60) / 111_195.0
            lat, lon, phone = src.lat + moved, src.lon, ""
        else:
            lat, lon, phone = None, None, src.phone
        dup = _entry(rows + k, name, src.sound, lat, lon, phone, min(src.areas), with_kana)
        out.append(dup)
        planted.add(tuple(sorted((src.external_id, dup.external_id))))  # type: ignore[arg-type]
    return out, planted


def _entry(
    i: int,
    name: str,
    kana: str,
    lat: float | None,
    lon: float | None,
    phone: str,
    area: int,
    with_kana: bool,
) -> Entry:
    key = normalize(name)
    return Entry(
        i,
        f"B-{i:07d}",
        name,
        key,
        normalize(kana) if with_kana else reading(name) or key,
        lat,
        lon,
        phone if len(phone) >= 10 else "",
        None,
        frozenset({area}),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="15,000 resources (CI)")
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--no-kana", action="store_true", help="read names with SudachiPy")
    args = parser.parse_args()
    rows = 15_000 if args.quick else args.rows
    t0 = time.perf_counter()
    entries, planted = generate(rows, with_kana=not args.no_kana)
    t1 = time.perf_counter()
    pairs = pairs_among(entries)
    t2 = time.perf_counter()
    found = {(p.first, p.second) for p in pairs}
    hit = len(found & planted)
    extra = len(found - planted)
    ok = (t2 - t1) < TARGET_SECONDS
    print(f"duplicates over {len(entries):,} resources")
    print(f"  prepare (names, readings)   {t1 - t0:8.1f} s")
    print(
        f"  find                        {t2 - t1:8.1f} s   target < {TARGET_SECONDS:.0f} s"
        f"   {'ok' if ok else 'MISSED'}"
    )
    print(f"  planted found               {hit:,} of {len(planted):,}")
    print(f"  reported, not planted       {extra:,} (same name, kind and place by chance)")
    if not ok and not args.quick:
        sys.exit(1)


if __name__ == "__main__":
    main()
