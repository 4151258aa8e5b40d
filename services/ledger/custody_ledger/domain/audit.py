"""`custody ledger verify`'s judgement: every link of the chain, and every signed checkpoint.

The chain alone catches an edited, deleted, reordered or truncated entry (chain.verify). A
rewrite that recomputed every hash from some entry on is consistent with itself; only the
checkpoints, signed outside the database, catch it, at the first entry whose stored hash is
not the one a checkpoint attested. The verdict names the earliest bad seq any check found.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from custody_ledger.domain import checkpoints as cp
from custody_ledger.domain.chain import Link, Verdict, verify

Finding = tuple[int | None, str]  # (first bad seq, or None when no entry is to blame; reason)


def _against_witness(links: Sequence[Link], trusted: Sequence[cp.Checkpoint]) -> list[Finding]:
    attested, conflict = cp.witnessed(trusted)
    findings: list[Finding] = []
    if conflict is not None:
        reason = "two signed checkpoints disagree on this entry (rewritten between them)"
        findings.append((conflict, reason))
    stored = {link.seq: link.hash for link in links}
    for seq in sorted(attested):
        digest, at_seq = attested[seq]
        if seq not in stored:
            reason = f"missing, but the signed checkpoint at seq {at_seq} covers it (deleted)"
            findings.append((seq, reason))
            break
        if stored[seq] != digest:
            reason = f"differs from the signed checkpoint at seq {at_seq} (chain rewritten)"
            findings.append((seq, reason))
            break
    return findings


def _trusted(
    checkpoints: Sequence[cp.Checkpoint], public_key: Ed25519PublicKey | None
) -> tuple[list[cp.Checkpoint], list[Finding]]:
    if not checkpoints:
        return [], []
    if public_key is None:
        missing: Finding = (None, f"{len(checkpoints)} checkpoints but no public key to check them")
        return [], [missing]
    trusted: list[cp.Checkpoint] = []
    findings: list[Finding] = []
    for checkpoint in checkpoints:
        problem = cp.problem(checkpoint, public_key)
        if problem:
            findings.append((None, f"checkpoint at seq {checkpoint.seq}: {problem}"))
        else:
            trusted.append(checkpoint)
    return trusted, findings


def audit(
    links: Sequence[Link],
    head: tuple[int, str] | None,
    checkpoints: Sequence[cp.Checkpoint],
    public_key: Ed25519PublicKey | None,
    unreadable: Sequence[str] = (),
) -> Verdict:
    """`unreadable`: checkpoint records that did not even parse (each one is a failure)."""
    chain = verify(links, head)
    findings: list[Finding] = [] if chain.ok else [(chain.first_bad_seq, chain.reason)]
    trusted, problems = _trusted(checkpoints, public_key)
    findings += _against_witness(links, trusted)
    findings += problems
    findings += [(None, reason) for reason in unreadable]
    if not findings:
        return Verdict(True, len(links), None, "")
    # The earliest entry to blame first; findings that blame no entry after them.
    seq, reason = min(findings, key=lambda f: (f[0] is None, f[0] or 0))
    return Verdict(False, len(links), seq, reason)
