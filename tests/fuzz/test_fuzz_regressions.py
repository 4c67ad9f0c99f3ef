"""What fuzzing campaigns found (bench/fuzz.py), one test each: the failing input replayed
through its harness, and the bug stated directly. A bug not fixed yet is ``xfail(strict=True)``
with where it lives, so the test starts failing (and is turned on) once it is fixed.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from fuzz_support import harness

from vauth import VirtualAuthenticator, base64url
from vauth.app.keys import SeededKeySource
from vauth.ctap.cose import Algorithm
from vauth.transport import framing, unix_socket

ID_EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")  # OID 1.2.840.10045.2.1
UNKNOWN_KEY_OID = bytes.fromhex("06072a8648ce3d0209")  # 1.2.840.10045.2.9: no such key type


def pkcs8_of_unknown_key_type() -> str:
    """A PKCS#8 ES256 key whose algorithm OID is altered: what the api campaign found (its
    input had 1.2.840.10100.2.1)."""
    der = SeededKeySource(2).generate_key(Algorithm.ES256).to_pkcs8()
    assert ID_EC_PUBLIC_KEY in der
    return base64url.encode(der.replace(ID_EC_PUBLIC_KEY, UNKNOWN_KEY_OID))


def credential_parameters(private_key: str) -> dict[str, object]:
    return {
        "credentialId": "AAECAwQFBgcICQ",
        "isResidentCredential": True,
        "rpId": "example.com",
        "privateKey": private_key,
        "userHandle": "dXNlcg",
        "signCount": 0,
    }


# Found by the api campaign: a PKCS#8 key of an unknown algorithm OID made CoseKey.from_pkcs8
# let cryptography's UnsupportedAlgorithm escape, and POST .../credential answered HTTP 500.
# Fixed: from_pkcs8 turns it into a ValueError, a structured 400.


@pytest.mark.parametrize("authenticator", [0, 1], ids=["vault", "tester"])
def test_api_add_credential_with_a_key_of_unknown_type(authenticator: int) -> None:
    api = harness("api")
    body = json.dumps(credential_parameters(pkcs8_of_unknown_key_type())).encode()
    api.test_one_input(api.request_input("add_credential", body, who=authenticator))


def test_add_credential_with_a_key_of_unknown_type_is_a_value_error() -> None:
    with VirtualAuthenticator() as va, pytest.raises(ValueError, match="privateKey"):
        va.add_credential(credential_parameters(pkcs8_of_unknown_key_type()))


def test_import_of_a_key_of_unknown_type_skips_the_entry() -> None:
    """The importer (vauth/vault/portable.py) already turns the same key into a skipped entry."""
    webdriver = json.dumps([credential_parameters(pkcs8_of_unknown_key_type())]).encode()
    harness("cxf").test_one_input(webdriver)
    with VirtualAuthenticator() as va:
        report = va.import_credentials(webdriver)
    assert not report.imported
    assert "not a PKCS#8 private key" in report.skipped[0].reason


# -- framing: a lone surrogate --------------------------------------------------------------------
# The framing campaign's input was a frame whose JSON held "\udddd": decode() accepts it (JSON
# escapes may spell lone surrogates), encode() raised UnicodeEncodeError on what decode gave. On
# the daemon's socket the reply to a request with such an id was never sent (the answering
# task died: "Task exception was never retrieved"). Fixed in vauth/transport/framing.py.

LONE_SURROGATE = b'{"id":"\\ud800","action":"status","params":{"name":"\\udddd"}}'


def test_framing_input_with_a_lone_surrogate() -> None:
    harness("framing").test_one_input(framing.encode(json.loads(LONE_SURROGATE), "="))
    harness("framing").test_one_input(len(LONE_SURROGATE).to_bytes(4, "little") + LONE_SURROGATE)


def test_encode_takes_whatever_decode_gives() -> None:
    message = framing.decode(LONE_SURROGATE)
    assert message["id"] == "\ud800"
    frame = framing.encode(message)
    assert framing.frame_length(frame[:4]) == len(frame) - 4
    assert framing.decode(frame[4:]) == message


async def test_the_daemon_socket_answers_a_request_id_with_a_lone_surrogate(
    tmp_path: Path,
) -> None:
    async def dispatch(request: dict[str, Any], notify: object) -> dict[str, Any]:
        return {"id": request.get("id"), "ok": True, "result": None}

    server = await unix_socket.serve(tmp_path / "socket", dispatch)
    try:
        reader, writer = await asyncio.open_unix_connection(str(tmp_path / "socket"))
        writer.write(len(LONE_SURROGATE).to_bytes(4, "big") + LONE_SURROGATE)
        length = framing.frame_length(await asyncio.wait_for(reader.readexactly(4), 5))
        reply = framing.decode(await reader.readexactly(length))
        assert reply == {"id": "\ud800", "ok": True, "result": None}
        writer.close()
        await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()
