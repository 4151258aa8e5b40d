"""People and agents in the policy: who they are, where they live, when not to wake them."""

from __future__ import annotations

from datetime import time

from pydantic import Field, model_validator

from custody.policy.fields import LocalDateTime, PolicyModel, WallTime, Zone


class Contacts(PolicyModel):
    sms: str | None = Field(default=None, description="a phone number in E.164, quoted")
    email: str | None = None
    chat: str | None = Field(default=None, description="a chat handle, e.g. @bob")
    webhook: str | None = Field(default=None, description="an https URL")


class QuietHours(PolicyModel):
    """A window on the person's own wall clock; it may wrap midnight (22:00–07:00)."""

    start: WallTime = Field(default=time(22, 0), description="local time quiet hours begin")
    end: WallTime = Field(default=time(7, 0), description="local time quiet hours end")
    enabled: bool = Field(default=True, description="false: never in quiet hours")

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.enabled and self.start == self.end:
            raise ValueError(
                f"start and end are both {self.start:%H:%M}: an empty window "
                "(to turn quiet hours off, write enabled: false)"
            )
        return self


class Presence(PolicyModel):
    """The "recipient is awake" override: off by default. While on, quiet hours do not defer
    this person's YELLOW pages."""

    awake: bool = Field(default=False, description="true: treat as awake during quiet hours")
    until: LocalDateTime | None = Field(
        default=None, description="when the override lapses (local to the person's zone)"
    )


class Person(PolicyModel):
    name: str = Field(description="display name")
    timezone: Zone = Field(description="an IANA zone, e.g. Europe/Stockholm")
    contacts: Contacts = Contacts()
    quiet_hours: QuietHours = QuietHours()
    presence: Presence = Presence()
    token_sha256: str | None = Field(
        default=None, description="sha256 hex of the person's inbox/CLI/API token"
    )


class Agent(PolicyModel):
    description: str = ""
    token_sha256: str | None = None
