"""The container image's lock file: every runtime distribution of `custody`, pinned exactly.

Regenerate after changing pyproject.toml's dependencies (and reinstalling):
    .venv/bin/python -m tests.deploy.lockfile > deploy/requirements.lock
"""

from __future__ import annotations

from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HEADER = """\
# The runtime dependencies of `custody`, pinned exactly: deploy/Dockerfile installs these with
# --no-deps, then `pip install --no-deps .`, so the image is what the tests ran against.
# Regenerate: .venv/bin/python -m tests.deploy.lockfile > deploy/requirements.lock
"""


def closure(root: str = "custody") -> dict[str, str]:
    """name -> installed version, for `root` and everything it needs at run time (extras
    included, markers evaluated for this interpreter, which the image's matches)."""
    found: dict[str, str] = {}
    extras_seen: dict[str, set[str]] = {}

    def walk(name: str, extras: frozenset[str]) -> None:
        dist = metadata.distribution(name)
        key = canonicalize_name(dist.metadata["Name"])
        known = extras_seen.setdefault(key, set())
        if key in found and extras <= known:
            return
        found[key] = dist.version
        known |= extras
        for line in dist.requires or []:
            req = Requirement(line)
            wanted = req.marker is None or any(
                req.marker.evaluate({"extra": extra}) for extra in ("", *extras)
            )
            if wanted:
                walk(req.name, frozenset(req.extras))

    walk(root, frozenset())
    found.pop(canonicalize_name(root))
    return dict(sorted(found.items()))


def render() -> str:
    return HEADER + "".join(f"{name}=={version}\n" for name, version in closure().items())


if __name__ == "__main__":
    print(render(), end="")
