"""CollectedClientData and its JSON-compatible serialization (WebAuthn L3 section 5.8.1.1).

Browsers build clientDataJSON by hand, not with a general JSON serializer: ``type``,
``challenge``, ``origin``, ``crossOrigin`` in that order, then ``topOrigin`` when the call comes
from a cross-origin frame, without spaces. Strings are escaped as section 5.8.1.2 says
(``"`` and ``\\`` escaped, other code points below U+0020 as ``\\uXXXX``, the rest verbatim).
"""

from __future__ import annotations

import hashlib
import re

from vauth import base64url

CREATE = "webauthn.create"
GET = "webauthn.get"


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return "\\" + char if char in '"\\' else f"\\u{ord(char):04x}"


def _ccd_to_string(value: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(_escape, value) + '"'


def client_data_json(
    kind: str, challenge: bytes, origin: str, top_origin: str | None = None
) -> bytes:
    """The UTF-8 clientDataJSON; ``top_origin`` is given only for a cross-origin call."""
    cross_origin = top_origin is not None
    parts = [
        f'"type":{_ccd_to_string(kind)}',
        f'"challenge":{_ccd_to_string(base64url.encode(challenge))}',
        f'"origin":{_ccd_to_string(origin)}',
        f'"crossOrigin":{"true" if cross_origin else "false"}',
    ]
    if top_origin is not None:
        parts.append(f'"topOrigin":{_ccd_to_string(top_origin)}')
    return ("{" + ",".join(parts) + "}").encode("utf-8")


def client_data_hash(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
