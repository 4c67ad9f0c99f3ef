"""Sync test parts: real SQLCipher vaults in temporary directories sharing a plain folder (no
Syncthing: the folder is the carrier, so copying files between folders is what it does), and real
Syncthing instances on loopback for the end-to-end tests (tests/sync/syncthing.py; without
``syncthing`` on PATH those skip and say why)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import webauthn
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
)

from tests.sync.syncthing import SYNCTHING, Cluster
from vauth import base64url
from vauth.ctap.ports import UserPresence
from vauth.sync import Sync
from vauth.testing.virtual import VirtualAuthenticator
from vauth.vault import Vault
from vauth.vault.kdf import KdfParams
from vauth.vault.replica import Replica

PASSPHRASE = "correct horse battery staple"


def new_vault(path: Path) -> Path:
    """A new vault at ``path`` (cheap Argon2id: the production cost is measured in bench/)."""
    Vault.open(
        path, PASSPHRASE, kdf=KdfParams(os.urandom(16), opslimit=1, memlimit=8 << 20)
    ).close()
    return path


class Device:
    """One computer: its vault, opened by a VirtualAuthenticator, and its Sync."""

    def __init__(self, home: Path, presence: UserPresence | None = None) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.va = VirtualAuthenticator(
            vault=new_vault(home / "vault.db"), passphrase=PASSPHRASE, presence=presence
        )
        assert self.va.vault is not None
        self.vault: Vault = self.va.vault
        self.sync = Sync(self.vault)

    def close(self) -> None:
        self.va.close()


@pytest.fixture
def make_device(tmp_path: Path) -> Iterator[object]:
    made: list[Device] = []

    def make(name: str, presence: UserPresence | None = None) -> Device:
        device = Device(tmp_path / name, presence)
        made.append(device)
        return device

    yield make
    for device in made:
        device.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "Sync"
    path.mkdir()
    return path


def pair(
    a: Device, b: Device, folder: Path, names: tuple[str, str] = ("laptop", "desktop")
) -> None:
    """a sets up the group in ``folder``; b asks to join; a approves with b's code; b merges."""
    a.sync.init(folder, names[0])
    request = b.sync.request_join(folder, names[1])
    assert [p.device_id for p in a.sync.pending()] == [request.device_id]
    a.sync.approve(request.device_id, request.fingerprint)
    b.sync.merge()
    assert b.sync.status().joined


def join(member: Device, newcomer: Device, folder: Path, name: str) -> str:
    """``newcomer`` asks to join through ``folder``, ``member`` approves, newcomer merges."""
    request = newcomer.sync.request_join(folder, name)
    member.sync.approve(request.device_id, request.fingerprint)
    newcomer.sync.merge()
    assert newcomer.sync.status().joined
    return request.device_id


def copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, dirs_exist_ok=True)


def run(device: Device, coroutine: Any) -> Any:
    """Run a VaultStore coroutine on the device's loop (as the daemon would)."""
    return device.va._run(coroutine)


def rename(device: Device, credential_id: bytes, nickname: str) -> None:
    credential = run(device, device.vault.store.get(credential_id))
    assert credential is not None
    credential.nickname = nickname
    run(device, device.vault.store.update(credential))


SNAPSHOT = (
    "SELECT credential_id, rp_id, user_handle, private_key, user_name, user_display_name, "
    "nickname, cred_blob, large_blob, large_blob_key, cred_random_with_uv, deleted_at, synced, "
    "backup_eligible, backup_state, sign_count FROM credentials ORDER BY credential_id"
)


def contents(vault: Vault) -> list[tuple[Any, ...]]:
    """What must be the same on every device once each has merged the same segments."""
    return vault.with_database_sync(
        lambda db: (
            db.query(SNAPSHOT)
            + db.query("SELECT name, value FROM settings WHERE name = 'large_blob_array'")
        )
    )


RP_ID, ORIGIN = "example.com", "https://example.com"
BE, BS = 0x08, 0x10  # WebAuthn L3 section 6.1 (authenticator data flags)


def register(
    device: Device,
    user: str = "alice",
    extensions: dict[str, Any] | None = None,
    resident_key: ResidentKeyRequirement = ResidentKeyRequirement.REQUIRED,
) -> Any:
    """A passkey made on ``device``, verified by py_webauthn (discoverable unless told)."""
    options = webauthn.generate_registration_options(
        rp_id=RP_ID,
        rp_name="Example",
        user_name=user,
        challenge=os.urandom(32),
        authenticator_selection=AuthenticatorSelectionCriteria(resident_key=resident_key),
    )
    public_key = json.loads(webauthn.options_to_json(options))
    if extensions:
        public_key["extensions"] = extensions
    response = device.va.create(public_key, ORIGIN)
    verified = webauthn.verify_registration_response(
        credential=response,
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
    )
    return verified


def sign_in(device: Device, registered: Any) -> tuple[int, int]:
    """(flags, signCount) of an assertion that py_webauthn verified with the registered key."""
    options = webauthn.generate_authentication_options(
        rp_id=RP_ID,
        challenge=os.urandom(32),
        allow_credentials=[PublicKeyCredentialDescriptor(id=registered.credential_id)],
    )
    response = device.va.get(json.loads(webauthn.options_to_json(options)), ORIGIN)
    verified = webauthn.verify_authentication_response(
        credential=response,
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        credential_public_key=registered.credential_public_key,
        credential_current_sign_count=0,
    )
    flags = base64url.decode(response["response"]["authenticatorData"])[32]
    return flags, verified.new_sign_count


def _need_syncthing() -> None:
    if SYNCTHING is None:
        pytest.skip("syncthing is not installed (apt install syncthing); the Syncthing tests skip")


@pytest.fixture
def syncthing_cluster(tmp_path: Path) -> Iterator[Callable[[int], Cluster]]:
    """``syncthing_cluster(n)`` starts n connected instances sharing one folder; all stop after."""
    _need_syncthing()
    started: list[Cluster] = []

    def start(n: int) -> Cluster:
        cluster = Cluster(tmp_path, [chr(ord("a") + i) for i in range(n)])
        started.append(cluster)
        try:
            cluster.start()
        except BaseException:
            print(cluster.logs())
            raise
        return cluster

    yield start
    for cluster in started:
        cluster.stop()


def identity(device: Device) -> Any:
    """The device's own sync identity (its signing and box keys), as its vault keeps it."""
    return device.sync.group.identity()


def held_keys(device: Device) -> set[bytes]:
    """Every group key the device's vault holds."""
    return Replica(device.vault).run(lambda tx: {e.key for e in tx.epochs()})
