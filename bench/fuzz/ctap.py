"""Fuzz the CTAP2 decoder and dispatcher: ``vauth.ctap.cbor.decode`` and
``Authenticator.process(bytes)``.

An input is a session: CTAP2 messages (command byte || CBOR), each after a 2-byte big-endian
length, run in order on a fresh ``VirtualAuthenticator(seed=1)`` (so a recorded session that sets
a PIN and gets a token replays exactly, and a mutation of its last message reaches the state the
session built). Properties, for every message:

- ``process`` returns, never raises, and nothing it swallows was an unexpected exception (the
  dispatcher's "log it and answer ERR_OTHER" net stays unused);
- the first byte is a ``CtapStatus``; an answer with status 0 is status alone or status and one
  CTAP2 canonical CBOR map that ``cbor.decode`` accepts; an error status comes alone;
- ``cbor.decode`` of the payload raises nothing but ``CtapError(INVALID_CBOR)``, and what it
  accepts re-encodes to exactly the same bytes (strict decode and canonical encode agree);

and after the session the authenticator still answers getInfo with status 0.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common

with _common.instrumented("vauth"):
    from vauth import VirtualAuthenticator
    from vauth.app.keys import SeededKeySource
    from vauth.ctap import cbor
    from vauth.ctap.cose import Algorithm, CoseKey
    from vauth.ctap.status import CtapError, CtapStatus

TARGET = "ctap"
MAX_MESSAGES = 48
PIN_HASH_COST = (1, 8192)  # Argon2id's least: the fuzzer sets PINs, it does not guess them
STATUSES = frozenset(int(s) for s in CtapStatus)
_errors = _common.LoggedErrors("vauth")


class FuzzKeySource(SeededKeySource):
    """``seed=1``'s keys, but one RSA key for every RS256 credential: the seeded source finds
    RSA primes in pure Python, half a second or more a key, which would make every RS256
    makeCredential a slow unit."""

    _rsa: CoseKey | None = None

    def generate_key(self, algorithm: Algorithm) -> CoseKey:
        if algorithm != Algorithm.RS256:
            return super().generate_key(algorithm)
        if FuzzKeySource._rsa is None:
            FuzzKeySource._rsa = SeededKeySource(1).generate_key(algorithm)
        return FuzzKeySource._rsa


def authenticator() -> VirtualAuthenticator:
    """The authenticator every session starts from (seed corpora are recorded against it):
    ``VirtualAuthenticator(seed=1)`` with a cheaper PIN hash and RSA key generation."""
    va = VirtualAuthenticator(key_source=FuzzKeySource(1))
    va.authenticator.config.pin_hash_cost = PIN_HASH_COST
    return va


def split(data: bytes) -> list[bytes]:
    """The messages of a session input: each after its 2-byte length (the last may be short)."""
    messages: list[bytes] = []
    offset = 0
    while offset < len(data) and len(messages) < MAX_MESSAGES:
        length = int.from_bytes(data[offset : offset + 2], "big")
        messages.append(data[offset + 2 : offset + 2 + length])
        offset += 2 + length
    return messages


def join(messages: list[bytes]) -> bytes:
    return b"".join(len(m).to_bytes(2, "big") + m for m in messages)


def check_decode(payload: bytes) -> None:
    try:
        value = cbor.decode(payload)
    except CtapError as exc:
        if exc.status is not CtapStatus.INVALID_CBOR:
            raise _common.PropertyViolation(f"decode raised {exc.status.name}") from exc
        return
    again = cbor.encode(value)
    if again != payload:
        raise _common.PropertyViolation(
            f"decode accepted a non-canonical encoding: {payload.hex()} re-encodes {again.hex()}"
        )


def check_response(message: bytes, response: bytes) -> None:
    if not isinstance(response, bytes) or not response:
        raise _common.PropertyViolation(f"process answered {response!r}")
    status = response[0]
    if status not in STATUSES:
        raise _common.PropertyViolation(f"status 0x{status:02x} is not a CtapStatus")
    if status != 0:
        if len(response) != 1:
            raise _common.PropertyViolation(f"status 0x{status:02x} came with a body")
        return
    if len(response) > 1:
        try:
            body = cbor.decode(response[1:])
        except CtapError as exc:
            raise _common.PropertyViolation(
                f"the answer to command 0x{message[:1].hex()} is not canonical CBOR"
            ) from exc
        if not isinstance(body, dict):
            raise _common.PropertyViolation("a success answer's body is not a map")


def test_one_input(data: bytes) -> None:
    va = authenticator()
    try:
        with _errors.trapping():
            for message in split(data):
                if len(message) > 1:
                    check_decode(message[1:])
                response = va.process(message)
                _errors.check()
                check_response(message, response)
            after = va.process(b"\x04")
        if after[:1] != b"\x00":
            raise _common.PropertyViolation(f"getInfo after the session answered {after.hex()}")
    finally:
        va.close()


# -- structure-aware mutation: whole messages and the CBOR inside them ----------------------------


def mutate(data: bytes, max_size: int, seed: int) -> bytes:
    import atheris
    import cbor2

    rng = random.Random(seed)
    messages = split(data) or [b"\x04"]
    choice = rng.random()
    if choice < 0.35:
        index = rng.randrange(len(messages))
        message = messages[index]
        try:
            value: Any = cbor2.loads(message[1:]) if len(message) > 1 else {}
            payload = cbor2.dumps(_common.mutate_tree(value, rng, make_bytes=True), canonical=True)
        except Exception:  # not CBOR, or a value cbor2 will not encode: mutate bytes instead
            payload = bytes(atheris.Mutate(message[1:], max(len(message), 64)))
        messages[index] = message[:1] + payload
    elif choice < 0.5 and len(messages) > 1:
        del messages[rng.randrange(len(messages))]
    elif choice < 0.6:
        messages.insert(rng.randint(0, len(messages)), rng.choice(messages))
    elif choice < 0.7:
        index = rng.randrange(len(messages))
        command = rng.choice((1, 2, 4, 6, 7, 8, 9, 10, 11, 12, 13, 0x40, 0x41, rng.randrange(256)))
        messages[index] = bytes([command]) + messages[index][1:]
    else:
        index = rng.randrange(len(messages))
        messages[index] = bytes(atheris.Mutate(messages[index], max(len(messages[index]) * 2, 64)))
    out = join(messages)
    return out if len(out) <= max_size else bytes(atheris.Mutate(data, max_size))


if __name__ == "__main__":
    _common.main(TARGET, test_one_input, mutate)
