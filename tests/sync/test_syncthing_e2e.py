"""Issue 13 end to end: real `vauth serve` daemons, each with its own vault, and real Syncthing
instances on loopback carrying each computer's sync folder to the others (tests/sync/syncthing.py).
Nothing is copied by the test: what reaches a computer, Syncthing carried; what a computer does
with it, its daemon's watcher and the sync library did. Sign-ins are verified by py_webauthn
with the public key the passkey was registered with on another computer."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.sync.computers import Computer, b64url, eventually, passkey, register, sign_in
from tests.sync.syncthing import Cluster, Syncthing

SETTLE_S = 60.0  # at most, for Syncthing to carry a file and the other daemon to merge it


class Group:
    """Computers, each paired with a Syncthing instance whose folder is its sync folder."""

    def __init__(self, root: Path, cluster: Cluster) -> None:
        self.root = root
        self.cluster = cluster
        self.computers: list[Computer] = []

    def computer(self, name: str, node: Syncthing) -> Computer:
        computer = Computer(self.root, name, "--presence", "prompt").start()
        computer.folder = node.folder  # type: ignore[attr-defined]
        self.computers.append(computer)
        return computer

    def join(self, member: Computer, newcomer: Computer) -> None:
        """``newcomer`` asks through its folder; ``member`` approves with the fingerprint it
        shows; the newcomer's daemon completes the join from what Syncthing brings back."""
        folder = newcomer.folder  # type: ignore[attr-defined]
        eventually(lambda: (folder / "vauth" / "group.json").exists(), SETTLE_S, "the group")
        request = newcomer.call("sync.join", folder=str(folder), deviceName=newcomer.name)

        def asked() -> bool:
            return any(p["deviceId"] == request["deviceId"] for p in member.call("sync.pending"))

        eventually(asked, SETTLE_S, f"{newcomer.name}'s request to reach {member.name}")
        member.call(
            "sync.approve", deviceId=request["deviceId"], fingerprint=request["fingerprint"]
        )
        eventually(lambda: newcomer.call("sync.status")["joined"], SETTLE_S, "the join")

    def stop(self) -> None:
        for computer in self.computers:
            computer.stop()


@pytest.fixture
def group(
    tmp_path: Path, syncthing_cluster: Callable[[int], Cluster]
) -> Iterator[Callable[..., tuple[Group, list[Computer]]]]:
    groups: list[Group] = []

    def start(n: int, members: int | None = None) -> tuple[Group, list[Computer]]:
        """n computers and Syncthing instances; the first ``members`` (all) in the group."""
        cluster = syncthing_cluster(n)
        made = Group(tmp_path, cluster)
        groups.append(made)
        computers = [made.computer(f"pc-{node.name}", node) for node in cluster.nodes]
        first = computers[0]
        first.call("sync.init", folder=str(first.folder), deviceName=first.name)  # type: ignore[attr-defined]
        for newcomer in computers[1 : members or n]:
            made.join(first, newcomer)
        return made, computers

    yield start
    for made in groups:
        made.stop()


def folder_bytes(*folders: Path) -> bytes:
    return b"".join(p.read_bytes() for f in folders for p in sorted(f.rglob("*")) if p.is_file())


def test_two_computers_share_passkeys_through_syncthing(
    group: Callable[..., tuple[Group, list[Computer]]],
) -> None:
    made, (a, b) = group(2)

    # create on A, then sign in on B: py_webauthn verifies with the key A registered
    registered = register(a, "alice")
    started = time.monotonic()
    eventually(lambda: passkey(b, registered), SETTLE_S, "alice's passkey on B")
    took = time.monotonic() - started
    verified = sign_in(b, registered)
    assert verified.new_sign_count == 0  # synced passkeys count nothing
    on_b = passkey(b, registered)
    assert on_b is not None and on_b["backupEligibility"] and on_b["backupState"]
    print(f"create on A to usable on B through Syncthing: {took:.2f} s")

    # a rename on B is seen on A, and its audit log says which computer made it
    b.call("credentials.rename", credentialId=b64url(registered.credential_id), nickname="work")
    eventually(lambda: (passkey(a, registered) or {}).get("nickname") == "work", SETTLE_S, "rename")
    audit = a.call("audit", credentialId=b64url(registered.credential_id))
    assert any("pc-b" in (entry["actor"] or "") for entry in audit), audit

    # concurrent renames converge: both computers end with the same one of the two names
    credential_id = b64url(registered.credential_id)
    a.call("credentials.rename", credentialId=credential_id, nickname="from A")
    b.call("credentials.rename", credentialId=credential_id, nickname="from B")

    def converged() -> bool:
        names = {(passkey(c, registered) or {}).get("nickname") for c in (a, b)}
        return len(names) == 1 and names <= {"from A", "from B"}

    eventually(converged, SETTLE_S, "the concurrent renames to converge")
    time.sleep(3)  # and they stay converged once every segment has arrived
    assert converged()

    # a device-only passkey never reaches the folder or B
    local = register(a, "dora", synced=False)
    marker = register(a, "eve")  # synced, made after: once it is on B, A has published
    eventually(lambda: passkey(b, marker), SETTLE_S, "eve's passkey on B")
    assert passkey(b, local) is None
    folders = folder_bytes(*(node.folder for node in made.cluster.nodes))
    assert local.credential_id not in folders and local.credential_public_key not in folders
    assert a.call("sync.status")["unpublished"] == 0

    # delete on A: B refuses to sign in with it
    a.call("credentials.delete", credentialId=credential_id)
    eventually(lambda: passkey(b, registered) is None, SETTLE_S, "the delete on B")
    refused = sign_in(b, registered)
    assert refused["ok"] is False and refused["error"]["code"] == "NotAllowedError", refused


def test_a_late_joiner_gets_everything_and_a_removed_one_reads_nothing_new(
    group: Callable[..., tuple[Group, list[Computer]]],
) -> None:
    made, (a, b, c) = group(3, members=2)
    early = [register(a, "frank"), register(b, "grace")]
    eventually(lambda: passkey(b, early[0]) and passkey(a, early[1]), SETTLE_S, "A and B")
    a.call("credentials.rename", credentialId=b64url(early[1].credential_id), nickname="home")
    eventually(lambda: (passkey(b, early[1]) or {}).get("nickname") == "home", SETTLE_S, "rename")
    assert c.call("credentials.list") == []

    made.join(a, c)  # C joins late, and gets everything made and changed before
    for passkey_made in early:
        eventually(lambda k=passkey_made: passkey(c, k), SETTLE_S, "the early ones on C")
    eventually(lambda: (passkey(c, early[1]) or {}).get("nickname") == "home", SETTLE_S, "rename")
    assert sign_in(c, early[0]).new_sign_count == 0  # made on A, used on C
    assert sign_in(c, early[1]).new_sign_count == 0  # made on B, used on C

    # A removes C (a lost laptop): the group key moves on, and C reads nothing written after
    c_id = c.call("sync.status")["deviceId"]
    a.call("sync.remove", deviceId=c_id)
    later = register(a, "heidi")
    eventually(lambda: passkey(b, later), SETTLE_S, "heidi's passkey on B")
    time.sleep(3)  # the segment has reached C's folder too by now
    assert passkey(c, later) is None
    devices = {d["deviceId"]: d for d in a.call("sync.devices")}
    assert devices[c_id]["removed"]


def _own_segment(folder: Path, device_id: str, after: int = 0) -> Path:
    """The last segment of ``device_id`` in ``folder`` (with ``after``, the next number)."""
    last = sorted((folder / "vauth" / "devices" / device_id).glob("seg-*.vseg"))[-1]
    return last.with_name(f"seg-{int(last.stem.split('-')[1]) + after:010d}.vseg")


def flipped(folder: Path, device_id: str) -> Path:
    path = _own_segment(folder, device_id)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return path


def truncated(folder: Path, device_id: str) -> Path:
    path = _own_segment(folder, device_id)
    path.write_bytes(path.read_bytes()[:40])
    return path


def deleted(folder: Path, device_id: str) -> Path:
    path = _own_segment(folder, device_id)
    path.unlink()
    return path


def damaged_document(folder: Path, device_id: str) -> Path:
    path = folder / "vauth" / "devices" / device_id / "device.json"
    path.write_text("{}")
    return path


def planted(folder: Path, device_id: str) -> Path:
    path = _own_segment(folder, device_id, after=1)
    path.write_bytes(b"planted by someone else")
    return path


def linked(folder: Path, device_id: str) -> Path:
    path = _own_segment(folder, device_id, after=1)
    path.symlink_to("/dev/zero")
    return path


def piped(folder: Path, device_id: str) -> Path:
    path = folder / "vauth" / "join" / "0123456789abcdef0123.json"
    path.parent.mkdir(exist_ok=True)
    os.mkfifo(path)
    return path


# Each kind of tampering in B's copy, and when it has done what it does: Syncthing carried it
# to A and A restored what it wrote ("restored"); Syncthing carried the planted file to A's
# copy ("arrived"); or B's vauth took it away first ("taken away": vauth removes the links,
# pipes and devices it finds, since it writes none and Syncthing stalls over a link to
# /dev/zero; Syncthing carries no pipe at all).
TAMPERING: dict[str, tuple[Callable[[Path, str], Path], str]] = {
    "one flipped byte in a segment": (flipped, "restored"),
    "a truncated segment": (truncated, "restored"),
    "a deleted segment": (deleted, "restored"),
    "a damaged device document": (damaged_document, "restored"),
    "a file planted at the next segment number": (planted, "arrived"),
    "a symbolic link to /dev/zero at the next segment number": (linked, "taken away"),
    "a named pipe among the join requests": (piped, "taken away"),
}


def test_after_each_kind_of_tampering_a_passkey_made_on_a_reaches_b_within_10_s(
    group: Callable[..., tuple[Group, list[Computer]]],
) -> None:
    """Issue 19, finding 5, end to end: someone with B's copy of the folder damages A's files
    there (Syncthing carries the damage back over A's own copy) or plants files; A notices
    what is not what it wrote and restores it, and takes away what stands at the place of its
    next segment; with no repair by hand, a passkey A makes afterwards is usable on B within
    10 s (verified by py_webauthn with the key A registered)."""
    made, (a, b) = group(2)
    a_id = a.call("sync.status")["deviceId"]
    a_folder, b_folder = (node.folder for node in made.cluster.nodes)
    first = register(a, "before")
    eventually(lambda: passkey(b, first), SETTLE_S, "the first passkey on B")
    figures = {}
    for number, (kind, (tamper, carried)) in enumerate(TAMPERING.items()):
        relative = tamper(b_folder, a_id).relative_to(b_folder)
        there = a_folder / relative

        def reached(relative: Path = relative, there: Path = there, carried: str = carried) -> bool:
            if carried == "restored":
                return str(relative) in " ".join(a.call("sync.status")["repairs"])
            if carried == "arrived":
                return there.exists()
            return not os.path.lexists(b_folder / relative)

        eventually(reached, SETTLE_S, f"{kind}: to reach A")
        started = time.monotonic()
        registered = register(a, f"after {number}")
        eventually(lambda r=registered: passkey(b, r), 10, f"{kind}: the passkey on B")  # type: ignore[misc]
        assert sign_in(b, registered).new_sign_count == 0
        figures[kind] = time.monotonic() - started
        print(f"{kind}: made on A, usable on B in {figures[kind]:.2f} s")
    assert max(figures.values()) < 10
    status = a.call("sync.status")
    assert status["lastError"] is None and status["unpublished"] == 0
