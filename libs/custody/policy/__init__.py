"""The operator's policy: one YAML file, validated by pydantic, versioned in KV."""

from custody.policy.loader import (
    PolicyError,
    Problem,
    load_policy,
    load_policy_text,
    policy_document,
    policy_version,
)
from custody.policy.model import Chain, Person, Policy, Route, Team

__all__ = [
    "Chain",
    "Person",
    "Policy",
    "PolicyError",
    "Problem",
    "Route",
    "Team",
    "load_policy",
    "load_policy_text",
    "policy_document",
    "policy_version",
]
