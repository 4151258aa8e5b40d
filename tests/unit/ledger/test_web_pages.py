"""The web inbox's pages over fakes: sign-in, case links, visibility, escaping, actions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from custody.auth.credentials import Principal
from custody_ledger import web
from custody_ledger.domain.documents import TimelineFact
from custody_ledger.domain.projection import Escalation
from custody_ledger.web.intake_relay import Outcome
from custody_ledger.web.settings import WebSettings

T0 = datetime(2026, 3, 29, 1, 14, tzinfo=UTC)
TOKENS = {"bob": "tok-bob", "alice": "tok-alice", "dave": "tok-dave", "monitor-1": "tok-agent"}
HOSTILE = '<script>alert("x")</script>'
ESC = Escalation(
    "esc-1",
    title=HOSTILE,
    severity="red",
    state="offered",
    custodian="bob",
    raised_by="monitor-1",
    opened_at=T0,
    updated_at=T0,
    version=1,
    proof={"diagnosis": "JWT key rotated", "reversible": False, "evidence": [
        {"label": "bad link", "url": "javascript:alert(1)"}]},
    people=("bob",),
)  # fmt: skip


class FakeReads:
    async def escalation(self, escalation_id: str) -> Escalation | None:
        return ESC if escalation_id == ESC.escalation_id else None

    async def facts(self, escalation_id: str) -> list[TimelineFact]:
        return [TimelineFact(1, "raised", T0, "monitor-1", {"event": {"severity": "red"}})]

    async def inbox(self, person: str) -> list[Escalation]:
        return [ESC] if person == ESC.custodian else []

    async def visible(self, viewer: str, **_: object) -> list[Escalation]:
        return []


class FakeDirectory:
    async def principal(self, token: str) -> Principal | None:
        for name, known in TOKENS.items():
            if token == known:
                return Principal(name, "agent" if name == "monitor-1" else "person")
        return None

    async def admins(self) -> frozenset[str]:
        return frozenset({"dave"})


class FakeRelay:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, dict[str, str]]] = []

    async def act(
        self, token: str, escalation_id: str, action: str, form: dict[str, str]
    ) -> Outcome:
        self.calls.append((token, escalation_id, action, form))
        if token != TOKENS["bob"]:
            return Outcome(False, "Refused: you are not the custodian of this escalation.")
        return Outcome(True, "Resolved. Now resolved, custodian bob.")


@pytest.fixture
def relay() -> FakeRelay:
    return FakeRelay()


@pytest.fixture
def client(tmp_path: Path, relay: FakeRelay) -> TestClient:
    (tmp_path / "credentials.json").write_text(json.dumps(TOKENS))
    app = FastAPI()
    settings = WebSettings(data_dir=tmp_path, web_session_secret="s" * 32)
    web.install(
        app, FakeReads(), FakeDirectory(), settings=settings,
        now=lambda: T0 + timedelta(minutes=5), relay=relay,
    )  # fmt: skip
    return TestClient(app)


def sign_in(client: TestClient, name: str) -> None:
    response = client.post("/signin", data={"as": name, "next": "/"}, follow_redirects=False)
    assert response.status_code == 303


def test_a_case_link_goes_to_sign_in_then_straight_to_the_case(client: TestClient) -> None:
    response = client.get("/e/esc-1", follow_redirects=False)
    assert response.headers["location"] == "/signin?next=/e/esc-1"
    signed = client.post(
        "/signin", data={"token": "tok-bob", "next": "/e/esc-1"}, follow_redirects=False
    )
    assert signed.headers["location"] == "/e/esc-1"
    assert "httponly" in signed.headers["set-cookie"].lower()
    assert "JWT key rotated" in client.get("/e/esc-1").text


def test_the_dev_picker_lists_people_not_agents(client: TestClient) -> None:
    page = client.get("/signin").text
    assert 'value="bob"' in page
    assert 'value="monitor-1"' not in page


def test_an_agent_token_or_a_wrong_token_cannot_sign_in(client: TestClient) -> None:
    assert client.post("/signin", data={"token": "tok-agent"}).status_code == 401
    assert client.post("/signin", data={"token": "nope"}).status_code == 401


def test_the_inbox_escapes_what_agents_wrote(client: TestClient) -> None:
    sign_in(client, "bob")
    page = client.get("/").text
    assert HOSTILE not in page
    assert "&lt;script&gt;" in page
    assert "offered to bob" in page
    assert "raised by monitor-1" in page
    assert "5m" in page


def test_an_unsafe_evidence_link_stays_text(client: TestClient) -> None:
    sign_in(client, "bob")
    page = client.get("/e/esc-1").text
    assert "javascript:" not in page
    assert "irreversible" in page


def test_someone_outside_the_chain_gets_404_and_so_does_a_missing_id(client: TestClient) -> None:
    sign_in(client, "alice")
    assert client.get("/e/esc-1").status_code == 404
    assert client.get("/e/esc-nope").status_code == 404
    assert client.get("/web/fragments/e/esc-1").status_code == 404
    assert client.get("/web/events/e/esc-1").status_code == 404


def test_an_admin_sees_every_case(client: TestClient) -> None:
    sign_in(client, "dave")
    assert client.get("/e/esc-1").status_code == 200


def test_an_action_is_relayed_with_the_persons_token(client: TestClient, relay: FakeRelay) -> None:
    sign_in(client, "bob")
    response = client.post("/e/esc-1/act", data={"action": "resolve", "note": "rolled back"})
    assert relay.calls == [
        ("tok-bob", "esc-1", "resolve", {"action": "resolve", "note": "rolled back"})
    ]
    assert "Resolved. Now resolved" in response.text


def test_a_refusal_is_shown_as_a_clear_message(client: TestClient) -> None:
    sign_in(client, "dave")
    page = client.post("/e/esc-1/act", data={"action": "ack"}).text
    assert "you are not the custodian" in page


def test_a_cross_site_post_is_refused(client: TestClient, relay: FakeRelay) -> None:
    sign_in(client, "bob")
    response = client.post(
        "/e/esc-1/act", data={"action": "resolve"}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert relay.calls == []


def test_signed_out_streams_and_fragments_say_401(client: TestClient) -> None:
    assert client.get("/web/fragments/inbox").status_code == 401
    assert client.get("/web/events/inbox").status_code == 401
