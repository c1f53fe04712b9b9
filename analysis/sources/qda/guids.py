"""REFI-QDA GUIDs: normalising what tools write, and making reproducible ones.

Tools write GUIDs in upper or lower case, with or without ``{}`` braces; the reader compares them
only after :func:`normalise_guid`. The writer makes GUIDs with :func:`stable_guid` (uuid5 from a
name), so the same project always gets the same GUIDs and the same bytes.
"""

from __future__ import annotations

import hashlib
import uuid

STEPPING_STONES_NAMESPACE = uuid.UUID("6b1f3c52-2f0e-5a7e-9d43-5354455050ff")
"""Fixed namespace for :func:`stable_guid` (any fixed UUID works; this one never changes)."""

_NAMESPACE_BYTES = STEPPING_STONES_NAMESPACE.bytes


def normalise_guid(guid: str) -> str:
    """Return *guid* in canonical form: lower case, no braces, no surrounding spaces."""
    return guid.strip().strip("{}").lower()


def is_canonical_guid(guid: str) -> bool:
    """Whether *guid* is already lower case without braces (as :func:`normalise_guid` returns)."""
    return guid == normalise_guid(guid)


def stable_guid(kind: str, *parts: object) -> str:
    """Return a reproducible GUID for an object of *kind* named by *parts* (uuid5).

    Args:
        kind: what the object is (``"code"``, ``"source"``, ``"user"``, ...), so a code and a
            source with the same name still get different GUIDs.
        parts: the values that identify the object (path, document name, offsets, ...).

    Returns:
        A lower-case GUID without braces.
    """
    name = "\x1f".join([kind, *(str(part) for part in parts)])
    # Same value as str(uuid.uuid5(STEPPING_STONES_NAMESPACE, name)), without building UUID
    # objects: the writer makes hundreds of thousands of these at benchmark scale.
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    hexed = digest.hex()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"
