"""minPinLength (CTAP 2.1 section 12.4): the current minimum PIN length, told at
makeCredential only to the RP IDs that setMinPINLength listed."""

from __future__ import annotations

from typing import Any

from vauth.ctap.parse import required
from vauth.ctap.pin_state import PinState

NAME = "minPinLength"


def requested(extensions: dict[str, Any]) -> bool:
    return NAME in extensions and required(extensions, NAME, bool, NAME)


def output(pin: PinState, rp_id: str) -> int | None:
    """The extension output, or None when this RP may not be told."""
    if rp_id not in pin.min_pin_length_rp_ids:
        return None
    return pin.min_pin_length
