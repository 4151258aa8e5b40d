"""The action forms of an escalation page. Each POSTs to the ledger's web app, which relays it
to intake with the signed-in person's token (intake and the escalator decide who may act)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from custody_ledger.web.render import e

ROLES = ("commander", "decision_log", "comms_lead")


def _form(escalation_id: str, heading: str, slug: str, inner: str) -> str:
    return (
        f'<form method="post" action="/e/{quote(escalation_id)}/act" aria-labelledby="{slug}-h">'
        f'<h3 id="{slug}-h">{e(heading)}</h3>{inner}</form>'
    )


def _field(slug: str, name: str, label: str, *, required: bool = False, area: bool = False) -> str:
    req = " required" if required else ""
    control = (
        f'<textarea id="{slug}-{name}" name="{name}" rows="2"{req}></textarea>'
        if area
        else f'<input id="{slug}-{name}" name="{name}" type="text"{req}>'
    )
    return f'<label for="{slug}-{name}">{e(label)}</label>{control}'


def _people(slug: str, name: str, label: str) -> str:
    # A free-text name with suggestions: the policy, not this page, decides who is valid.
    return (
        f'<label for="{slug}-{name}">{e(label)}</label>'
        f'<input id="{slug}-{name}" name="{name}" type="text" list="people-list" required>'
    )


def _button(action: str, label: str) -> str:
    return (
        f'<button class="secondary" type="submit" name="action" value="{action}">{label}</button>'
    )


def actions(escalation_id: str, people: Sequence[str]) -> str:
    """Ack, resolve, note; decline with a reason; reassign; assign an incident role."""
    take = _form(
        escalation_id,
        "Take custody or close",
        "take",
        _field("take", "note", "Note (optional)", area=True)
        + '<button type="submit" name="action" value="ack">Acknowledge</button> '
        '<button type="submit" name="action" value="resolve">Resolve</button> '
        '<button class="secondary" type="submit" name="action" value="note">Add note</button>',
    )
    decline = _form(
        escalation_id,
        "Decline",
        "decline",
        _field("decline", "reason", "Reason (required)", required=True)
        + '<button class="secondary" type="submit" name="action" value="decline">Decline</button>',
    )
    reassign = _form(
        escalation_id,
        "Reassign",
        "reassign",
        _people("reassign", "to", "To")
        + _field("reassign", "note", "Note (optional)")
        + _button("reassign", "Reassign"),
    )
    role_options = "".join(f'<option value="{r}">{e(r.replace("_", " "))}</option>' for r in ROLES)
    role = _form(
        escalation_id,
        "Assign incident role",
        "role",
        '<label for="role-role">Role</label>'
        f'<select id="role-role" name="role">{role_options}</select>'
        + _people("role", "to", "Person")
        + _button("assign_role", "Assign"),
    )
    names = "".join(f'<option value="{e(p)}"></option>' for p in people)
    return (
        '<section aria-labelledby="act-h"><h2 id="act-h">Act</h2>'
        f'<datalist id="people-list">{names}</datalist>'
        f'<div class="actions">{take}{decline}{reassign}{role}</div></section>'
    )
