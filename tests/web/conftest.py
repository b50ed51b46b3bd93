"""Web tests hash passwords with cheap argon2id parameters (see webhelpers.CHEAP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from webhelpers import CHEAP

from web import accounts


@pytest.fixture(autouse=True)
def cheap_hashing() -> Iterator[None]:
    accounts.set_hasher(CHEAP)
    yield
    accounts.set_hasher(PasswordHasher())
