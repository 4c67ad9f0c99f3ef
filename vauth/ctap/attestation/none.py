"""The "none" attestation statement format (WebAuthn L3 section 8.7)."""

from __future__ import annotations

from typing import Any

FORMAT = "none"


def statement() -> tuple[str, dict[str, Any]]:
    return FORMAT, {}
