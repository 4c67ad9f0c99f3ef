"""The client's clientPIN calls: authenticator errors become the WebAuthnErrors a page sees."""

from __future__ import annotations

import pytest

from vauth.ctap.authenticator import Authenticator
from vauth.webauthn.ctap_messages import ByteChannel
from vauth.webauthn.errors import WebAuthnError
from vauth.webauthn.pin import PinSession


async def test_wrong_pin_is_explained(authenticator: Authenticator) -> None:
    session = PinSession(ByteChannel(authenticator.process), (2, 1))
    await session.set_pin("123456")
    with pytest.raises(WebAuthnError) as exc:
        await session.token("654321", None, None)
    assert exc.value.name == "NotAllowedError"
    assert "the PIN is wrong" in exc.value.message


@pytest.mark.parametrize("reply", [b"", b"\x00\xff"], ids=["empty", "not CBOR"])
async def test_malformed_reply_is_not_allowed(reply: bytes) -> None:
    async def process(message: bytes) -> bytes:
        return reply

    session = PinSession(ByteChannel(process), (2,))
    with pytest.raises(WebAuthnError) as exc:
        await session.shared_secret()
    assert exc.value.name == "NotAllowedError"
