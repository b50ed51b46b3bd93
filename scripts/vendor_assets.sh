#!/usr/bin/env bash
# Vendor the maps' browser assets from the npm registry, at BUILD time only.
#
# Municipal PCs sit on closed networks (LGWAN): a map must never fetch JS/CSS from a CDN at
# run time. This script downloads pinned npm packages (`npm pack`, integrity checked
# against the pins below), copies the few files the maps use, with their licence files, into
# web/static/vendor/, and compiles the Font Awesome Free icons that the category taxonomy
# names into maps/_fa_icons.py (inline SVG: no webfont to ship or to load).
#
# The result is committed, so `make install` / CI need no network for it. Run this again
# only to upgrade a package or after adding a taxonomy icon; `--check` rebuilds into a
# temporary folder and fails when the committed files differ.
#
#   scripts/vendor_assets.sh           # (re)write web/static/vendor/ and maps/_fa_icons.py
#   scripts/vendor_assets.sh --check   # verify the committed copies (needs the npm registry)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$PWD/.venv/bin/python}
CHECK=0
[[ "${1:-}" == "--check" ]] && CHECK=1

# name@version  npm integrity (sha512, as `npm view NAME@VERSION dist.integrity` prints it)
PACKAGES=(
  "leaflet@1.9.4 sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA=="
  "leaflet.markercluster@1.5.3 sha512-vPTw/Bndq7eQHjLBVlWpnGeLa3t+3zGiuM7fJwCkiMFq+nmRuG3RI3f7f4N4TDX7T4NpbAXpR2+NTRSEGfCSeA=="
  "jquery@3.7.1 sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg=="
  "@fortawesome/fontawesome-free@6.7.2 sha512-JUOtgFW6k9u4Y+xeIaEiLr3+cjoUPiAuLXoyKOJSia6Duzb7pq+A76P9ZdPDoAoxHdHzq6gE9/jKBGXlZT8FbA=="
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ $CHECK == 1 ]]; then
  out="$work/out/vendor"
  icons="$work/out/_fa_icons.py"
else
  out="web/static/vendor"
  icons="maps/_fa_icons.py"
fi

for entry in "${PACKAGES[@]}"; do
  spec=${entry%% *}
  want=${entry##* }
  name=${spec%@*}
  dir="$work/pkg/${name//\//+}"
  mkdir -p "$dir"
  got=$(cd "$work" && npm pack --silent --json "$spec" \
        | "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin)[0]; print(d["integrity"], d["filename"])')
  integrity=${got%% *}
  tarball=${got##* }
  if [[ "$integrity" != "$want" ]]; then
    echo "vendor_assets: $spec has integrity $integrity, expected $want" >&2
    exit 1
  fi
  tar xzf "$work/$tarball" -C "$dir" --strip-components=1
done

pkg() { echo "$work/pkg/${1//\//+}"; }

rm -rf "$out"
mkdir -p "$out/leaflet/images" "$out/leaflet.markercluster" "$out/jquery" "$out/fontawesome-free"

# Copy a JS/CSS file without its sourceMappingURL comment: the .map files are not shipped,
# and a dangling reference would make developer tools request them.
copy_asset() {
  sed -e '/^\/\/# sourceMappingURL=/d' -e 's#/\*\# sourceMappingURL=[^*]*\*/##' "$1" > "$2"
}

L=$(pkg leaflet)
copy_asset "$L/dist/leaflet.js" "$out/leaflet/leaflet.js"
copy_asset "$L/dist/leaflet.css" "$out/leaflet/leaflet.css"
cp "$L"/dist/images/*.png "$out/leaflet/images/"
cp "$L/LICENSE" "$out/leaflet/LICENSE"

MC=$(pkg leaflet.markercluster)
copy_asset "$MC/dist/leaflet.markercluster.js" "$out/leaflet.markercluster/leaflet.markercluster.js"
cp "$MC/dist/MarkerCluster.css" "$MC/dist/MarkerCluster.Default.css" "$out/leaflet.markercluster/"
cp "$MC/MIT-LICENCE.txt" "$out/leaflet.markercluster/MIT-LICENCE.txt"

JQ=$(pkg jquery)
copy_asset "$JQ/dist/jquery.min.js" "$out/jquery/jquery.min.js"
cp "$JQ/LICENSE.txt" "$out/jquery/LICENSE.txt"

FA=$(pkg @fortawesome/fontawesome-free)
cp "$FA/LICENSE.txt" "$out/fontawesome-free/LICENSE.txt"

find "$out" -type f -exec chmod 644 {} +

cat > "$out/README.md" <<'EOF'
# Vendored browser assets for the maps

Written by `scripts/vendor_assets.sh` from pinned npm packages (integrity-checked); do not
edit by hand. Served by the app at `/static/vendor/…`, or inlined into standalone HTML by
`maps.assets`. Nothing is fetched at run time.

| folder | npm package | licence |
|---|---|---|
| `leaflet/` | leaflet 1.9.4 (`leaflet.js`, `leaflet.css`, `images/`) | BSD-2-Clause (`LICENSE`) |
| `leaflet.markercluster/` | leaflet.markercluster 1.5.3 | MIT (`MIT-LICENCE.txt`) |
| `jquery/` | jquery 3.7.1 (`jquery.min.js`; folium's popups use it) | MIT (`LICENSE.txt`) |
| `fontawesome-free/` | @fortawesome/fontawesome-free 6.7.2: only the licence; the icons the category taxonomy names are compiled as SVG paths into `maps/_fa_icons.py` | icons CC BY 4.0, code MIT (`LICENSE.txt`) |

Not vendored on purpose: Bootstrap, the Font Awesome webfonts and Leaflet.awesome-markers,
which folium links by default. The maps draw their markers as inline SVG, so they need
none of them; `maps.assets` refuses to serve a map that still links one.
EOF

"$PYTHON" - "$FA" "$icons" <<'PY'
"""Compile the taxonomy's Font Awesome 4 icon names into SVG paths (Font Awesome Free 6)."""
import json
import sys
from pathlib import Path

sys.path.insert(0, ".")
from directory.taxonomy import load_taxonomy  # noqa: E402

fa, target = Path(sys.argv[1]), Path(sys.argv[2])
families = json.loads((fa / "metadata/icon-families.json").read_text(encoding="utf-8"))
by_alias = {alias: key for key, e in families.items()
            for alias in (e.get("aliases") or {}).get("names", [])}
shims: dict[str, dict[str, str]] = {}
current = None
for line in (fa / "metadata/shims.yml").read_text(encoding="utf-8").splitlines():
    if line and not line.startswith(" ") and line.endswith(":"):
        current = line[:-1].strip("'\"")
        shims[current] = {}
    elif current and ":" in line:
        key, value = (part.strip().strip("'\"") for part in line.split(":", 1))
        shims[current][key] = value

icons = {}
for name in sorted({cat.icon for cat in load_taxonomy()}):
    shim = shims.get(name, {})
    if not shim and name.endswith("-o"):
        # Font Awesome 4's outline variants ("-o") are the regular style in 6; not every
        # one of them is in shims.yml (handshake-o is not).
        shim = {"prefix": "far", "name": name[:-2]}
    style = "regular" if shim.get("prefix") == "far" else "solid"
    target_name = shim.get("name", name)
    key = target_name if target_name in families else by_alias.get(target_name)
    svgs = families.get(key, {}).get("svgs", {}).get("classic", {}) if key else {}
    svg = svgs.get(style) or svgs.get("solid") or svgs.get("regular")
    if svg is None:
        sys.exit(f"vendor_assets: no Font Awesome Free icon for the taxonomy icon {name!r}")
    icons[name] = (" ".join(str(v) for v in svg["viewBox"]), svg["path"])

lines = [
    '"""SVG paths of the icons the category taxonomy names (generated; do not edit).',
    "",
    "Written by ``scripts/vendor_assets.sh`` from Font Awesome Free 6.7.2 by @fontawesome -",
    "https://fontawesome.com, icons licensed CC BY 4.0 (https://fontawesome.com/license/free;",
    "licence text in web/static/vendor/fontawesome-free/LICENSE.txt). Keys are the Font Awesome",
    "4 names used in ``directory/data/taxonomy.json``; values are (viewBox, path).",
    '"""',
    "",
    "from __future__ import annotations",
    "",
    "ATTRIBUTION = (",
    '    "Icons: Font Awesome Free 6.7.2 by @fontawesome - https://fontawesome.com "',
    '    "License - https://fontawesome.com/license/free (CC BY 4.0)"',
    ")",
    "",
    "ICONS: dict[str, tuple[str, str]] = {",
]
for name, (view_box, path) in icons.items():
    lines.append(f"    {json.dumps(name)}: (")
    lines.append(f"        {json.dumps(view_box)},")
    lines.append(f"        {json.dumps(path)},")
    lines.append("    ),")
lines.append("}")
target.write_text("\n".join(lines) + "\n", encoding="utf-8")
PY

if [[ $CHECK == 1 ]]; then
  status=0
  diff -r "$out" web/static/vendor || status=1
  diff "$icons" maps/_fa_icons.py || status=1
  if [[ $status != 0 ]]; then
    echo "vendor_assets: the committed assets differ from the pinned packages; run scripts/vendor_assets.sh" >&2
    exit 1
  fi
  echo "vendor_assets: committed assets match the pinned packages"
else
  echo "vendor_assets: wrote $out and $icons"
  du -sh "$out"
fi
