"""Web tests hash passwords with cheap argon2id parameters (see webhelpers.CHEAP)."""

from __future__ import annotations

import pytest
from webhelpers import CHEAP

from web import accounts


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    # monkeypatch gives the production hasher and its dummy hash back afterwards as they
    # were: set_hasher(PasswordHasher()) would hash again at the production cost (64 MiB,
    # about 0.1 s) after every test.
    monkeypatch.setattr(accounts, "_hasher", accounts._hasher)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", accounts._DUMMY_HASH)
    accounts.set_hasher(CHEAP)
