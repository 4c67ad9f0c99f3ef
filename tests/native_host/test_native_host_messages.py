"""What the browser may send the host that it must not trust: bad frames, bad JSON, the wrong
caller, the end of input; and replies too large for one message."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import time
from pathlib import Path
from typing import Any

import pytest
from native_host_support import PASSPHRASE, Daemon, Host, b64, creation, environment

from native_host.chunking import MAX_REPLY
from vauth import VirtualAuthenticator
from vauth.transport import framing
from vauth.transport.unix_socket import Client


def frame(body: bytes) -> bytes:
    return struct.pack("=I", len(body)) + body


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"not json", "not UTF-8 JSON"),
        (b"[1, 2]", "must be a JSON object"),
        ('{"id": "\u00e9"}'.encode("latin-1"), "not UTF-8 JSON"),
        (b"", "not UTF-8 JSON"),
        (b'{"action": "status"}', "needs an id"),
        (b'{"id": true, "action": "status"}', "needs an id"),
        (b'{"id": {"nested": 1}, "action": "status"}', "needs an id"),
        # Issue 10 item 8: nesting past vauth.inputs.MAX_DEPTH (32), and past the recursion
        # limit, is refused by the one decoder the host and the daemon share.
        (b'{"id": 1, "action": "status", "params": ' + b"[" * 40 + b"]" * 40 + b"}", "nested"),
        (
            b'{"id": 1, "action": "status", "params": ' + b"[" * 10**5 + b"]" * 10**5 + b"}",
            "nested",
        ),
    ],
)
def test_malformed_messages_get_errors_and_the_host_keeps_serving(
    host: Host, body: bytes, says: str
) -> None:
    host.send_raw(frame(body))
    reply = host.recv()
    assert reply["id"] is None and reply["ok"] is False
    assert reply["error"]["code"] == "bad_message" and says in reply["error"]["message"]
    assert host.call(9, "host.hello")["ok"] is True
    assert host.process.poll() is None


def test_a_request_without_an_action(host: Host) -> None:
    host.send({"id": "a", "params": {}})
    assert host.recv() == {
        "id": "a",
        "ok": False,
        "error": {"code": "bad_message", "message": "a request needs an action (a string)"},
    }


def test_a_truncated_frame_is_answered_then_the_host_ends_cleanly(host: Host) -> None:
    host.send_raw(struct.pack("=I", 100) + b'{"id": 1, "action"')
    host.close_input()
    reply = host.recv()
    assert reply["id"] is None and reply["error"]["code"] == "bad_message"
    assert "truncated" in reply["error"]["message"] and "18 of 100" in reply["error"]["message"]
    assert host.frame() is None
    assert host.exit_code() == 0


def test_a_truncated_length_prefix(host: Host) -> None:
    host.send_raw(b"\x07\x00")
    host.close_input()
    assert host.recv()["error"] == {"code": "bad_message", "message": "truncated length prefix"}
    assert host.exit_code() == 0


def test_an_oversized_length_prefix_loses_the_framing(host: Host) -> None:
    host.send_raw(struct.pack("=I", framing.MAX_MESSAGE + 1) + b"x" * 1000)
    reply = host.recv()
    assert reply["id"] is None and reply["error"]["code"] == "bad_message"
    assert "exceeds the limit of 67108864" in reply["error"]["message"]
    host.send({"id": 2, "action": "host.hello"})  # not a frame any more: discarded
    time.sleep(0.3)
    assert host.process.poll() is None  # it waits for the browser to close the port
    host.close_input()
    assert host.frame() is None  # nothing more was answered
    assert host.exit_code() == 0


def test_end_of_input_ends_the_host(host: Host) -> None:
    assert host.call(1, "host.hello")["ok"]
    host.close_input()
    assert host.frame() is None
    assert host.exit_code() == 0
    assert "Traceback" not in host.log()


def test_end_of_input_with_a_long_poll_in_flight(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path, "--presence", "prompt")
    host = Host(tmp_path)
    try:
        assert host.call(1, "status")["ok"]
        host.request(2, "prompts.wait", timeout=60)
        time.sleep(0.2)
        started = time.monotonic()
        host.close_input()
        assert host.exit_code(timeout=10) == 0
        assert time.monotonic() - started < 5
    finally:
        host.kill()
        daemon.stop()


def _refused(host: Host) -> dict[str, Any]:
    reply = host.recv()
    assert host.frame() is None  # exactly one message
    assert host.exit_code() == 1
    return reply


def test_another_extension_is_refused(tmp_path: Path) -> None:
    host = Host(tmp_path, "chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/")
    try:
        reply = _refused(host)
        assert reply["id"] is None and reply["ok"] is False
        assert reply["error"]["code"] == "forbidden_origin"
        assert "chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/" in reply["error"]["message"]
    finally:
        host.kill()


def test_a_host_started_without_a_caller_is_refused(tmp_path: Path) -> None:
    host = Host(tmp_path, "--parent-window=0")
    try:
        assert _refused(host)["error"]["code"] == "forbidden_origin"
    finally:
        host.kill()


def test_firefox_add_on_ids(tmp_path: Path) -> None:
    manifest = str(
        tmp_path / "home" / ".mozilla" / "native-messaging-hosts" / "dev.vauth.host.json"
    )
    ours = Host(tmp_path, manifest, "vauth@vauth.dev")
    theirs = Host(tmp_path, manifest, "evil@example.com")
    try:
        assert ours.call(1, "host.hello")["ok"] is True
        assert _refused(theirs)["error"]["code"] == "forbidden_origin"
    finally:
        ours.kill()
        theirs.kill()


def test_an_unreadable_configuration_refuses_everyone(tmp_path: Path) -> None:
    config = tmp_path / "config" / "vauth" / "native-host.json"
    config.parent.mkdir(parents=True)
    config.write_text("{not json")
    host = Host(tmp_path)
    try:
        reply = _refused(host)
        assert reply["error"]["code"] == "forbidden_origin"
        assert "native-host install" in reply["error"]["message"]
    finally:
        host.kill()


# -- replies over 1 MiB ------------------------------------------------------------------------

# Characters whose JSON costs more than they look: two- and four-byte UTF-8, escapes, \u0001.
NASTY = 'é😀"\\\n\x01 '


def _vault_with_big_credentials(base: Path, count: int = 3) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = base / "data" / "vauth" / "vault.db"
    path.parent.mkdir(parents=True)
    with VirtualAuthenticator(vault=path, passphrase=PASSPHRASE) as va:
        for i in range(count):
            key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            credential = va.device.credential_from_parameters(
                {
                    "credentialId": b64(bytes([i]) * 16),
                    "isResidentCredential": True,
                    "rpId": "example.com",
                    "privateKey": b64(key),
                    "userHandle": b64(f"user{i}".encode()),
                    "signCount": 0,
                    "userName": f"user{i}",
                    "largeBlob": b64(bytes([i]) * 400_000),
                }
            )
            # Longer than Credential Parameters allow (1024 characters), as a site may send.
            credential.user_display_name = NASTY * 60_000 + str(i)
            asyncio.run(va.device.store.put(credential))


def _collect(host: Host, count: int) -> dict[object, list[dict[str, Any]]]:
    """``count`` replies' frames by id, checking that each reply's chunks come back to back."""
    frames: dict[object, list[dict[str, Any]]] = {}
    order: list[object] = []
    while len(frames) < count or any(
        f[-1].get("chunk", 0) + 1 < f[-1].get("chunks", 1) for f in frames.values()
    ):
        body = host.frame()
        assert body is not None
        assert len(body) <= MAX_REPLY, len(body)
        message = json.loads(body)
        if not order or order[-1] != message["id"]:
            order.append(message["id"])
        frames.setdefault(message["id"], []).append(message)
    assert len(order) == count, f"chunks of different replies interleaved: {order}"
    return frames


def _reassemble(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    count = chunks[0]["chunks"]
    assert [c["chunk"] for c in chunks] == list(range(count))
    assert all(c["chunks"] == count and c["ok"] is True for c in chunks)
    assert all(set(c) == {"id", "ok", "chunk", "chunks", "data"} for c in chunks)
    reply: dict[str, Any] = json.loads("".join(c["data"] for c in chunks))
    assert reply["id"] == chunks[0]["id"]
    return reply


def test_replies_over_one_mebibyte_come_in_chunks(tmp_path: Path) -> None:
    _vault_with_big_credentials(tmp_path)
    daemon = Daemon(tmp_path, "--presence", "auto")
    host = Host(tmp_path, env=environment(tmp_path))
    try:
        host.request("list", "credentials.list")
        host.request(42, "export", format="webdriver", plaintext=True, vaultPassphrase=PASSPHRASE)
        host.request("small", "status")
        frames = _collect(host, 3)
        assert len(frames["small"]) == 1 and "chunk" not in frames["small"][0]

        listed = _reassemble(frames["list"])
        assert len(frames["list"]) >= 3
        names = sorted(c["userDisplayName"] for c in listed["result"])
        assert names == [NASTY * 60_000 + str(i) for i in range(3)]

        async def direct() -> dict[str, Any]:
            client = await Client.connect(daemon.socket)
            try:
                return await client.call("credentials.list")
            finally:
                await client.close()

        assert listed == {**asyncio.run(direct()), "id": "list"}

        exported = _reassemble(frames[42])
        assert exported["ok"] is True and exported["result"]["encrypted"] is False
        credentials = json.loads(base64.b64decode(exported["result"]["data"]))
        blobs = sorted(c["largeBlob"] for c in credentials)
        assert blobs == sorted(b64(bytes([i]) * 400_000) for i in range(3))
        assert host.call("after", "host.hello")["ok"] is True
    finally:
        host.kill()
        daemon.stop()


def test_a_create_reply_is_not_chunked(daemon: Daemon, host: Host) -> None:
    host.request(1, "create", origin="https://example.com", options=creation("henry"))
    assert "chunk" not in host.recv()


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": NaN, "action": "status"}',
        b'{"id": 9007199254740993, "action": "status"}',
        b'{"id": "' + b"i" * 257 + b'", "action": "status"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"id": 1, "action": "status", "params": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
    ids=["nan-id", "unsafe-integer-id", "long-id", "deep", "deep-params"],
)
def test_requests_the_host_cannot_trust(host: Host, body: bytes) -> None:
    host.send_raw(frame(body))
    reply = host.recv()
    assert reply["ok"] is False and reply["error"]["code"] == "bad_message"
    assert reply["id"] is None
    assert host.call(2, "host.hello")["ok"] is True


@pytest.mark.parametrize(
    ("params", "says"),
    [(b'{"name": "\\ud800"}', "lone surrogate"), (b'{"limit": Infinity}', "NaN or Infinity")],
)
def test_params_json_cannot_carry_onward(
    daemon: Daemon, host: Host, params: bytes, says: str
) -> None:
    host.send_raw(frame(b'{"id": "p", "action": "audit", "params": ' + params + b"}"))
    reply = host.recv()
    assert reply["id"] == "p" and reply["error"]["code"] == "bad_message"
    assert says in reply["error"]["message"]
    assert host.call("q", "audit", limit=1)["ok"] is True
