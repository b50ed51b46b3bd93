"""The demo town with an account per role, for the resource pages' and API's tests."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from webhelpers import Account, add_account, area_codes, csrf_token, sign_in

from directory.db import transaction
from directory.demo import load_demo
from directory.models import Resource, ResourceChange
from web.db import get_db
from web.models import AuditEvent

# R-001 (赤塚ふれあいサロン) serves the first area; R-027 is not public; R-004 is paused.
OWN_RESOURCE = "R-001"
PRIVATE_RESOURCE = "R-027"
PAUSED_RESOURCE = "R-004"


@dataclass
class Town:
    app: Flask
    own: str  # the first area's code
    other: str
    accounts: dict[str, Account]

    def client(self, who: str | None = None) -> FlaskClient:
        """A client signed in as ``who`` (anonymous when None)."""
        client = self.app.test_client()
        if who is not None:
            assert sign_in(client, self.accounts[who]).status_code == 303  # type: ignore[attr-defined]
        return client

    def resource(self, external_id: str) -> Resource:
        with self.app.app_context(), get_db().read() as s:
            found = s.scalars(select(Resource).where(Resource.external_id == external_id)).one()
            s.expunge(found)
            return found

    def history(self, external_id: str) -> list[ResourceChange]:
        with self.app.app_context(), get_db().read() as s:
            rid = s.scalar(select(Resource.id).where(Resource.external_id == external_id))
            rows = list(
                s.scalars(
                    select(ResourceChange)
                    .where(ResourceChange.resource_id == rid)
                    .order_by(ResourceChange.id)
                )
            )
            s.expunge_all()
            return rows

    def audit(self, record_id: str) -> list[tuple[str, str, str, str | None]]:
        """(actor, action, outcome, detail) of the events about one record, in order."""
        with self.app.app_context(), get_db().read() as s:
            return [
                (e.actor, e.action, e.outcome, e.detail)
                for e in s.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.record_id == record_id)
                    .order_by(AuditEvent.id)
                )
            ]


def make_town(engine: Engine, app: Flask) -> Town:
    with transaction(engine) as s:
        load_demo(s)
    return town_accounts(app)


def town_accounts(app: Flask) -> Town:
    """The accounts of a town whose database holds the demo already (`demo_town`)."""
    own, other = area_codes(app)[:2]
    accounts = {
        "viewer": add_account(app, "viewer", "viewer"),
        "coord": add_account(app, "coord", "tier2", (own,)),
        "other": add_account(app, "other", "tier2", (other,)),
        "tier1": add_account(app, "tier1", "tier1"),
        "admin": add_account(app, "admin", "admin"),
    }
    return Town(app, own, other, accounts)


def form_of(client: FlaskClient, path: str) -> dict[str, object]:
    """The fields of the resource form at ``path`` as the browser would send them."""
    page = client.get(path).get_data(as_text=True)
    values: dict[str, object] = {"csrf_token": csrf_token(client, path)}
    for m in re.finditer(
        r'<input id="f-([a-z_]+)" name="([a-z_]+)" type="[a-z]+" value="([^"]*)"', page
    ):
        values[m[2]] = _unescape(m[3])
    for m in re.finditer(
        r'<textarea id="f-([a-z_]+)" name="([a-z_]+)"[^>]*>([^<]*)</textarea>', page
    ):
        values[m[2]] = _unescape(m[3])
    version = re.search(r'name="version" value="(\d+)"', page)
    if version:
        values["version"] = version[1]
    values["categories"] = re.findall(r'name="categories" value="([a-z_]+)" checked', page)
    for name in ("status", "transport"):
        chosen = re.search(rf'<select id="f-{name}" name="{name}">(.*?)</select>', page, re.S)
        assert chosen, name
        selected = re.search(r'<option value="([^"]*)" selected', chosen[1])
        values[name] = selected[1] if selected else ""
    if re.search(r'name="public" value="1" checked', page):
        values["public"] = "1"
    return values


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)
