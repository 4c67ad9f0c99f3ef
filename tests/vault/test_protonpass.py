"""Proton Pass's export in (issue 22): the JSON and the ZIP around it, each passkey's key read
from the MessagePack Proton keeps it in, and each passkey without a usable key named by site and
account with the reason. Fixtures by tests/vault/foreign.py from Proton's public source; every
imported passkey signs in, checked by py_webauthn."""

from __future__ import annotations

import os

import msgpack
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from tests.vault.foreign import (
    Passkey,
    dumps,
    proton_content,
    proton_export,
    proton_item,
    proton_passkey,
    proton_zip,
    signs_in,
    stored,
)
from vauth import VirtualAuthenticator
from vauth.ctap.credential import SignCountPolicy
from vauth.vault.errors import ExchangeError


@pytest.mark.parametrize("packing", ["json", "zip"])
def test_proton_pass_passkeys_sign_in(va: VirtualAuthenticator, packing: str) -> None:
    plain = Passkey(rp_id="proton.example", user_name="pat")
    counting = Passkey(rp_id="count.example", user_name="cy", counter=12)
    edwards = Passkey(rp_id="ed.example", user_name="ed", key=ed25519.Ed25519PrivateKey.generate())
    with_prf = Passkey(rp_id="prf.example", user_name="pru")
    secret = (os.urandom(32), os.urandom(32))
    document = proton_export(
        proton_item(proton_passkey(plain), proton_passkey(counting)),
        proton_item(proton_passkey(edwards)),
        proton_item(proton_passkey(with_prf, proton_content(with_prf, hmac_secret=secret))),
    )
    data = dumps(document) if packing == "json" else proton_zip(document)
    report = va.import_credentials(data)
    assert len(report.imported) == 4 and report.skipped == []
    for passkey in (plain, edwards, with_prf):
        signs_in(va, passkey, discover=True)
    signs_in(va, counting)  # above 12
    credential = stored(va, plain.credential_id)
    assert (credential.user_name, credential.user_display_name, credential.rp_name) == (
        "pat",
        "Alice Liddell",
        "Example",
    )
    assert credential.created == int(plain.created.timestamp()) * 1000
    assert stored(va, counting.credential_id).sign_count_policy is SignCountPolicy.COUNTER
    prf = stored(va, with_prf.credential_id)
    assert (prf.cred_random_with_uv, prf.cred_random_without_uv) == secret


def test_passkeys_without_a_usable_key_are_named_with_the_reason(
    va: VirtualAuthenticator,
) -> None:
    good = Passkey(rp_id="good.example", user_name="gina")
    no_key = proton_passkey(Passkey(rp_id="nokey.example", user_name="nia"))
    no_key["content"] = ""
    newer = Passkey(rp_id="newer.example", user_name="neo")
    k1 = Passkey(rp_id="k1.example", user_name="kim", key=ec.generate_private_key(ec.SECP256K1()))
    damaged = proton_passkey(Passkey(rp_id="damaged.example", user_name="dan"))
    damaged["content"] = damaged["content"][: len(damaged["content"]) // 2]
    garbage = Passkey(rp_id="garbage.example", user_name="gus")
    trashed = Passkey(rp_id="trash.example", user_name="tom")
    document = proton_export(
        proton_item(proton_passkey(good), no_key),
        proton_item(proton_passkey(newer, proton_content(newer, version=2))),
        proton_item(proton_passkey(k1)),
        proton_item(damaged),
        proton_item(
            proton_passkey(garbage, msgpack.packb({"c": list(msgpack.packb([1, 2])), "v": 1}))
        ),
        proton_item(proton_passkey(trashed), state=2),
    )
    report = va.import_credentials(dumps(document))
    assert len(report.imported) == 1
    reasons = {s.rp_id: (s.user_name, s.reason) for s in report.skipped}
    assert reasons["nokey.example"] == (
        "nia",
        "Proton Pass's export did not include its private key",
    )
    assert "format version 2" in reasons["newer.example"][1]
    assert "unsupported key type" in reasons["k1.example"][1]
    assert "unreadable" in reasons["damaged.example"][1]
    assert "form vauth does not know" in reasons["garbage.example"][1]
    assert "trash" in reasons["trash.example"][1]
    signs_in(va, good)


def test_pgp_encrypted_damaged_and_foreign_zips_are_refused(va: VirtualAuthenticator) -> None:
    document = proton_export(proton_item(proton_passkey(Passkey())))
    with pytest.raises(ExchangeError, match="encrypted with PGP"):
        va.import_credentials(proton_zip(document, "Proton Pass/data.pgp"))
    with pytest.raises(ExchangeError, match="not a Proton Pass export"):
        va.import_credentials(proton_zip(document, "something/else.json"))
    whole = proton_zip(document)
    for cut in (10, len(whole) // 2, len(whole) - 10):
        with pytest.raises(ExchangeError, match="damaged or truncated"):
            va.import_credentials(whole[:cut])
    text = dumps(document)
    with pytest.raises(ExchangeError, match="not JSON: truncated"):
        va.import_credentials(text[: len(text) // 2])
    assert va.get_credentials() == []
