"""GeoJSON (RFC 7946) of resources: Points where a resource has one, else the union of
the districts it serves; properties exactly :data:`GEOJSON_PROPERTIES`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from directory.exports.common import _ENCODE, _address, _Areas, _point, _schedule_words, _uri
from directory.exports.published import BATCH_SIZE, Progress, iter_published, published_resources
from directory.models import Resource
from directory.resources.cells import STATUS_LABEL

#: The only properties a GeoJSON feature carries (the published allow-list).
GEOJSON_PROPERTIES = (
    "id",
    "name",
    "kana",
    "categories",
    "category_labels",
    "organization",
    "description",
    "schedule",
    "address",
    "building",
    "phone",
    "url",
    "fee",
    "eligibility",
    "transport",
    "status",
    "status_label",
    "last_verified_on",
    "service_area",
    "location",
)


def _feature(r: Resource, areas: _Areas) -> dict[str, Any] | None:
    """The GeoJSON Feature of one resource, or None when it has nothing to draw."""
    point = _point(r)
    served = sorted(r.districts, key=lambda d: d.code)
    if point is not None:
        geometry: dict[str, Any] | None = {"type": "Point", "coordinates": list(point)}
        location = "point"
    else:
        geometry = areas.union(d.id for d in served)
        location = "service_area"
    if geometry is None:
        return None
    categories = sorted(r.categories, key=lambda c: c.code)
    properties = {
        "id": r.external_id,
        "name": r.name,
        "kana": r.kana,
        "categories": [c.code for c in categories],
        "category_labels": [c.label_ja for c in categories],
        "organization": r.organization.name if r.organization else None,
        "description": r.description,
        "schedule": _schedule_words(r),
        "address": _address(r),
        "building": r.building,
        "phone": r.phone,
        "url": _uri(r.url),
        "fee": r.fee,
        "eligibility": r.eligibility,
        "transport": r.transport,
        "status": r.status,
        "status_label": STATUS_LABEL.get(r.status, r.status),
        "last_verified_on": r.last_verified_on.isoformat() if r.last_verified_on else None,
        "service_area": [d.name for d in served],
        "location": location,
    }
    assert tuple(properties) == GEOJSON_PROPERTIES  # the allow-list is the contract
    return {"type": "Feature", "id": r.external_id, "geometry": geometry, "properties": properties}


def resources_geojson(session: Session, *, include_private: bool = False) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (RFC 7946) of resources for maps and open-data portals.

    Published resources only unless ``include_private``. A located resource is a Point; one
    served by districts only is the union of those districts (``location`` says which); one
    with neither is omitted. Properties are exactly :data:`GEOJSON_PROPERTIES`.
    """
    areas = _Areas(session)
    features = [
        f
        for r in published_resources(session, include_private=include_private)
        if (f := _feature(r, areas)) is not None
    ]
    return {"type": "FeatureCollection", "features": features}


def iter_resources_geojson(
    session: Session,
    *,
    include_private: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """:func:`resources_geojson` as UTF-8 JSON chunks, read from the database in batches."""
    areas = _Areas(session)
    yield b'{"type": "FeatureCollection", "features": ['
    first = True
    for r in iter_published(
        session, include_private=include_private, batch_size=batch_size, progress=progress
    ):
        feature = _feature(r, areas)
        if feature is None:
            continue
        text = _ENCODE(feature)
        yield (text if first else ",\n" + text).encode()
        first = False
    yield b"]}\n"
