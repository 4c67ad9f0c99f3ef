"""No secret reaches a log, at any level: not the passphrase, the PIN, a private key, a token,
the recovery key or the HTTP API token, whatever goes wrong."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.ctap2.pin import ClientPin

from tests.vault.conftest import fast_kdf
from vauth import VirtualAuthenticator, WebAuthnError
from vauth.testing.doubles import VauthCtapDevice
from vauth.vault import Vault

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "passphrase-0f-the-vault"
PIN = "pin-7391"
EXPORT_PASSPHRASE = "export-secret-5512"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def secrets_of(va: VirtualAuthenticator) -> list[str]:
    found = [PASSPHRASE, PIN, EXPORT_PASSPHRASE, hashlib.sha256(PIN.encode()).hexdigest()[:32]]
    for credential in asyncio.run(va.device.store.all()):
        key = credential.private_key_der()
        found += [key.hex(), base64.b64encode(key).decode(), b64(key), key[-32:].hex()]
    for protocol in va.authenticator.pin_protocols.values():
        found.append(protocol.token.hex())
    return found


def test_in_process_logs_at_debug_hold_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "vault.db"
    vault = Vault.open(path, PASSPHRASE, kdf=fast_kdf())
    recovery = vault.recovery_key
    vault.close()
    va = VirtualAuthenticator(
        vault=path, passphrase=PASSPHRASE, has_user_verification=False, pin=PIN
    )
    options = {
        "rp": {"id": "example.com", "name": "Example"},
        "user": {"id": b64(b"alice"), "name": "alice", "displayName": "Alice"},
        "challenge": b64(os.urandom(32)),
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"residentKey": "required", "userVerification": "required"},
    }
    va.create(options, "https://example.com")
    va.get(
        {"challenge": b64(os.urandom(32)), "userVerification": "required"}, "https://example.com"
    )
    # Things going wrong: wrong PINs, malformed messages, a wrong passphrase, a bad export.
    ctap = Ctap2(VauthCtapDevice(va))
    for wrong in ("0000", "1111"):
        with pytest.raises(CtapError):
            ClientPin(ctap).get_pin_token(wrong, ClientPin.PERMISSION.GET_ASSERTION, "x.example")
    for junk in (b"\x01\xff", b"\x06" + bytes(40), b"\x0c\xa1\x01\x00"):
        va.process(junk)
    with pytest.raises(WebAuthnError):
        va.get({"challenge": b64(os.urandom(32))}, "https://evil.example")
    exported = va.export_credentials(passphrase=EXPORT_PASSPHRASE)
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do; the logs are the point
        va.import_credentials(exported, passphrase="wrong " + EXPORT_PASSPHRASE)
    assert va.vault is not None
    va.vault.lock()
    va.vault.unlock(PASSPHRASE)
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in [*secrets_of(va), recovery or ""]:
        assert secret and secret not in text, secret[:8]
    va.close()


def test_daemon_logs_at_debug_hold_no_secret(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "XDG_RUNTIME_DIR": str(tmp_path / "run"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "VAUTH_PASSPHRASE": PASSPHRASE,
    }
    (tmp_path / "run").mkdir()
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vauth.cli",
            "serve",
            "--presence",
            "auto",
            "--log-level",
            "debug",
            "--http",
            "127.0.0.1:0",
        ],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert serve.stderr is not None
    log = []
    for line in serve.stderr:
        log.append(line)
        if "vauth: ready" in line:
            break

    def cli(*args: str, passphrase: str = PASSPHRASE) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "vauth.cli", *args],
            env={**env, "VAUTH_PASSPHRASE": passphrase},
            cwd=ROOT,
            capture_output=True,
            text=True,
        )

    token = cli("token").stdout.strip()
    cli("unlock", passphrase="wrong passphrase")
    cli("lock")
    cli("unlock")
    cli("export", "-o", str(tmp_path / "e.cxf"))
    serve.terminate()
    log += serve.stderr.readlines()
    serve.wait(timeout=30)
    text = "".join(log)
    assert "recovery key" in text  # the warning that it was not shown ...
    for secret in (PASSPHRASE, "wrong passphrase", token):
        assert secret not in text, secret[:8]
