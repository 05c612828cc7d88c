"""How an object in Grafana says which stack owns it. Grafana's legacy APIs keep no common
metadata, so each kind carries the mark in a field it does keep (README, "Ownership"):

    data source     jsonData.managed_by = <stack>
    folder          holds objects of the stack (a folder has no field to mark)
    dashboard       the tag managed_by:<stack>
    template        the name <stack>:<name>
    mute timing     the name <stack>:<name>
    contact point   each integration's uid <stack>_<identity><fingerprint>
    routes          the stack's branch of the policy tree, matching managed_by=<stack>
                    (of the routing tree named <stack>, with policy_tree: own)
    alert rule      the label managed_by=<stack>

Rules carry the label, so the stack's branch of the policy tree sees exactly its alerts."""

from __future__ import annotations

import hashlib
import re

LABEL = "managed_by"
INTEGRATION_UID = re.compile(r"^([a-z0-9-]+)_([0-9a-f]{8})([0-9a-f]{8})$")


def tag(stack: str) -> str:
    return f"{LABEL}:{stack}"


def name(stack: str, name: str) -> str:
    """The Grafana name of a template or a mute timing (their only field to mark)."""
    return f"{stack}:{name}"


def name_owner(name: str) -> str | None:
    return name.split(":", 1)[0] if ":" in name else None


def integration_owner(uid: object) -> str | None:
    """The stack whose mark an integration's uid carries (None: not a stack's uid)."""
    found = INTEGRATION_UID.match(str(uid))
    return found.group(1) if found else None


def digest(*parts: str) -> str:
    """Eight hex digits of a SHA-256 over ``parts``: nothing usable about a secret."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:8]


def integration_prefix(stack: str, contact_point: str, index: int, kind: str) -> str:
    """The uid of a contact point's ``index``-th integration, but for its fingerprint."""
    return f"{stack}_{digest(contact_point, str(index), kind)}"
