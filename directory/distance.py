"""Great-circle distance: the one formula the importer, the matcher and the maps share.

Kept apart from :mod:`directory.geography` so that code drawing maps can measure without
importing the database layer (``maps`` must import neither SQLAlchemy nor ``web``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["EARTH_RADIUS_M", "haversine_m", "haversine_rad_m"]

#: The mean Earth radius (IUGG), in metres: a sphere is plenty for walking distances.
EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle metres between points in degrees, so that every layer agrees to the
    metre. Element-wise over arrays; scalars give a 0-d numpy float (``float(...)`` it
    for a plain one)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    return haversine_rad_m(p1, np.radians(lon1), p2, np.radians(lon2), np.cos(p1), np.cos(p2))


def haversine_rad_m(p1: Any, l1: Any, p2: Any, l2: Any, cos_p1: Any, cos_p2: Any) -> np.ndarray:
    """:func:`haversine_m` on radians with the cosines of the latitudes given: the
    matcher keeps them per venue row, so a batch of needs pays no trigonometry for them."""
    a = np.sin((p2 - p1) / 2) ** 2 + cos_p1 * cos_p2 * np.sin((l2 - l1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
