"""HTML for the layout, sign-in and the inbox. Every value is escaped by `e()` on its way in.

No template engine is installed, so templates are `string.Template` files with `$name` slots
filled only with HTML this module built (and escaped) itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from html import escape
from importlib import resources
from string import Template
from typing import Any
from urllib.parse import quote

from custody_ledger.web.wording import age, custody_phrase, severity_class


def e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


@cache
def template(name: str) -> Template:
    text = resources.files(__package__).joinpath("templates", name).read_text("utf-8")
    return Template(text)


def page(
    title: str, body: str, *, who: str | None = None, flash: str = "", bad: bool = False
) -> str:
    account = (
        f'<div class="account"><span>Signed in as <strong>{e(who)}</strong></span>'
        '<form method="post" action="/signout"><button class="link" type="submit">'
        "Sign out</button></form></div>"
        if who
        else ""
    )
    note = (
        f'<div class="panel flash{" bad" if bad else ""}" role="status">{e(flash)}</div>'
        if flash
        else ""
    )
    return template("layout.html").substitute(
        title=e(title), account=account, flash=note, body=body
    )


def signin(next_path: str, people: Sequence[str], error: str = "") -> str:
    picker = ""
    if people:
        buttons = "".join(
            f'<button class="secondary" type="submit" name="as" value="{e(p)}">{e(p)}</button>'
            for p in people
        )
        picker = (
            '<form method="post" action="/signin" aria-labelledby="dev-h">'
            '<h2 id="dev-h">Dev: sign in as</h2>'
            f'<input type="hidden" name="next" value="{e(next_path)}">'
            f'<div class="picker">{buttons}</div></form>'
        )
    note = "You will go straight to the case." if next_path.startswith("/e/") else ""
    body = template("signin.html").substitute(next=e(next_path), next_note=e(note), picker=picker)
    return page("Sign in", body, flash=error, bad=bool(error))


def row(item: Mapping[str, Any], now: datetime) -> str:
    """One escalation in a list: severity, title, age, state, custodian, raised by."""
    sev = item.get("severity")
    esc_id = str(item["escalation_id"])
    phrase = custody_phrase(str(item.get("state")), item.get("custodian"))
    opened = item.get("opened_at")
    when = datetime.fromisoformat(opened) if isinstance(opened, str) else None
    return (
        f'<li class="row {severity_class(sev)}" data-escalation="{e(esc_id)}">'
        f'<span class="badge {severity_class(sev)}">{e(sev or "none")}</span>'
        f'<a class="title" href="/e/{quote(esc_id)}">{e(item.get("title") or esc_id)}</a>'
        f'<time class="age" datetime="{e(opened)}" title="opened {e(opened)}">'
        f"{e(age(when, now))}</time>"
        f'<span class="meta"><span class="state">{e(phrase)}</span>'
        f" · custodian {e(item.get('custodian') or 'none')}"
        f" · raised by {e(item.get('raised_by') or '?')} · {e(esc_id)}</span></li>"
    )


def section(
    heading: str, slug: str, items: Iterable[Mapping[str, Any]], now: datetime, empty: str
) -> str:
    rows = "".join(row(i, now) for i in items)
    content = f'<ul class="rows">{rows}</ul>' if rows else f'<p class="muted">{e(empty)}</p>'
    return (
        f'<section aria-labelledby="{slug}-h" id="{slug}">'
        f'<h2 id="{slug}-h">{e(heading)}</h2>{content}</section>'
    )


def inbox_fragment(sections: Mapping[str, list[dict[str, Any]]], now: datetime) -> str:
    parts = [
        section(
            "Yours: held or offered", "yours", sections["yours"], now, "Nothing is yours right now."
        ),
        section("Recently handled", "handled", sections["handled"], now, "Nothing handled yet."),
    ]
    if "team" in sections:
        parts.append(
            section(
                "Team view: everything open", "team", sections["team"], now, "No open escalations."
            )
        )
    return "".join(parts)


def live(fragment: str, *, stamp: str, events: str, source: str, label: str) -> str:
    """A region the page's script keeps current from an SSE stream."""
    return (
        f'<div aria-live="polite" aria-label="{e(label)}" data-stamp="{e(stamp)}"'
        f' data-events="{e(events)}" data-fragment="{e(source)}">{fragment}</div>'
    )


def not_found(escalation_id: str, who: str) -> str:
    body = (
        '<section class="panel"><h1>Not found</h1>'
        f"<p>There is no escalation {e(escalation_id)} that you can see.</p>"
        '<p><a href="/">Back to your inbox</a></p></section>'
    )
    return page("Not found", body, who=who)
