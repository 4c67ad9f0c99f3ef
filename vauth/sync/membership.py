"""The membership rule (pure: no file, no vault), and the only way a group key comes to be.

A membership change adds a device (after a person compared fingerprints), removes one, leaves
(a device removing itself), or rekeys (the roster unchanged). Every change but leaving makes a
new group key, an *epoch* named by its number (one more than every number its maker knew) and
its maker's device ID, for exactly the roster the change leaves, and travels sealed to each
member of that roster in a key envelope signed by its maker (house style rule 21: key material
changes state only through the membership change that justifies it):

- a change is taken only from a member (not removed) of the group as this device knows it,
  for a roster that holds its maker; a key with no such change is refused, however well signed;
- a device writes only under the greatest epoch made for exactly the roster it has applied
  (:func:`current`); when none is (two changes made at the same moment each left out a device
  the other kept), it makes one itself, a rekey: every device that does so gives the roster a
  key, and all of them settle on the greatest. Two removals at the same moment therefore
  never split the group, and a removed device never holds the key anyone writes under;
- removal is final: the removed device's segments after the last one its remover had applied
  are refused. A device removed at the same moment as it removed its remover is still heard on
  that one point: both removals hold, everywhere alike.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from vauth.sync.identity import DeviceDoc, device_id_of
from vauth.sync.merge import BadEntry
from vauth.vault.replica import EpochRow, MemberRow

ADD = "add"
REMOVE = "remove"
REKEY = "rekey"
LEAVE = "leave"
OPS = (ADD, REMOVE, REKEY, LEAVE)
# Who vouched for each member: {device ID: [approver's device ID, Ed25519 signature]}. Every
# member but the group's first device has one, so a joining device can check that the device
# handing it the group key descends, approval by approval, from the first device it pinned.
CERTIFICATES = "sync.certificates"
Certificate = list[Any]


@dataclass(frozen=True, order=True)
class Epoch:
    """A group key's name: greater numbers come later; the maker's ID breaks ties."""

    number: int
    author: str

    @property
    def name(self) -> str:
        return f"{self.number}-{self.author}"


@dataclass(frozen=True)
class Change:
    op: str
    author: str  # the device that made it
    epoch: Epoch | None  # the group key it made (None: leaving, or from an older vauth)
    members: frozenset[str]  # the roster it leaves
    target: str | None = None  # the device added, removed or leaving
    cutoff: int | None = None  # removing: the last of the target's segments that counts
    doc: dict[str, Any] | None = None  # adding: the new member's signed identity
    cert: Certificate | None = None  # adding: the approver's signature on it
    commit: bytes | None = None  # envelope.commitment of the key it made
    legacy_number: int | None = None  # a change from a vauth before epochs had makers

    def as_map(self) -> dict[str, Any]:
        found: dict[str, Any] = {"op": self.op, "by": self.author, "members": sorted(self.members)}
        if self.epoch is not None:
            found["n"] = self.epoch.number
        for name in ("target", "cutoff", "doc", "cert", "commit"):
            value = getattr(self, name)
            if value is not None:
                found["device" if name == "target" else name] = value
        return found

    @classmethod
    def parse(cls, raw: object, journal_author: str | None = None) -> Change:
        """A change as an envelope or a journal entry carries it (BadEntry if malformed).
        ``journal_author``: the device whose journal holds it (an older vauth's entries name
        no maker)."""
        if not isinstance(raw, Mapping) or raw.get("op") not in OPS:
            raise BadEntry("a membership change does neither add, remove, rekey nor leave")
        if "by" not in raw and journal_author is not None:
            return _legacy(raw, journal_author)
        author, number, members = raw.get("by"), raw.get("n"), raw.get("members")
        target, cutoff, commit = raw.get("device"), raw.get("cutoff"), raw.get("commit")
        if not isinstance(author, str) or not isinstance(members, list):
            raise BadEntry("a membership change does not say who made it or for whom")
        if not all(isinstance(m, str) for m in members):
            raise BadEntry("a membership change's roster is not a list of devices")
        if number is not None and not (isinstance(number, int) and 0 < number < 1 << 62):
            raise BadEntry("a membership change's key number is out of range")
        if target is not None and not isinstance(target, str):
            raise BadEntry("a membership change names its device wrongly")
        if cutoff is not None and not (isinstance(cutoff, int) and cutoff >= 0):
            raise BadEntry("a membership change's cutoff is not a segment number")
        if commit is not None and not isinstance(commit, bytes):
            raise BadEntry("a membership change's key commitment is not bytes")
        doc, cert = raw.get("doc"), raw.get("cert")
        return cls(
            str(raw["op"]),
            author,
            None if number is None else Epoch(number, author),
            frozenset(members),
            target,
            cutoff,
            doc if isinstance(doc, dict) else None,
            cert if isinstance(cert, list) else None,
            commit,
        )


def _legacy(raw: Mapping[str, Any], author: str) -> Change:
    """A change from a vauth before this rule: an approval or a removal, with no key."""
    if raw.get("op") == ADD:
        doc = raw.get("doc")
        parsed = DeviceDoc.parse(doc)
        if parsed is None or not isinstance(doc, dict):
            raise BadEntry("a membership entry adds a device whose identity does not verify")
        cert = raw.get("cert")
        return Change(
            ADD,
            author,
            None,
            frozenset(),
            parsed.device_id,
            doc=doc,
            cert=cert if isinstance(cert, list) else None,
        )
    device, number, cutoff = raw.get("device"), raw.get("epoch"), raw.get("cutoff")
    if not (isinstance(device, str) and isinstance(number, int) and isinstance(cutoff, int)):
        raise BadEntry("a membership entry removes a device without saying which")
    if raw.get("op") != REMOVE:
        raise BadEntry("a membership entry does neither add nor remove")
    return Change(REMOVE, author, None, frozenset(), device, cutoff, legacy_number=number)


class Verdict(enum.Enum):
    TAKEN = "taken"
    WAITING = "waiting"  # it needs a member this device does not know yet: judged again later
    REFUSED = "refused"


def judge(change: Change, members: Mapping[str, MemberRow]) -> tuple[Verdict, str]:
    """Whether this device may take ``change``, given the members it knows: the verdict and,
    unless taken, why (a phrase for a sentence)."""
    author = members.get(change.author)
    if author is None:
        return Verdict.WAITING, "it comes from a device this one does not know as a member yet"
    if author.removed and not (change.op == REMOVE and change.target in author.removed_by):
        return Verdict.REFUSED, (
            f"it comes from the device {author.name}, which was removed from the group"
        )
    if change.epoch is not None and change.author not in change.members:
        return Verdict.REFUSED, "a change may not leave out the device that makes it"
    if change.op == ADD:
        doc = DeviceDoc.parse(change.doc)
        if doc is None or doc.device_id != change.target:
            return Verdict.REFUSED, "it adds a device whose identity does not verify"
        if change.epoch is not None and change.target not in change.members:
            return Verdict.REFUSED, "it adds a device but leaves it out of the roster"
    elif change.op == REMOVE:
        if change.target is None or change.cutoff is None or change.target == change.author:
            return Verdict.REFUSED, "it removes a device without saying which"
        if change.target in change.members:
            return Verdict.REFUSED, "it removes a device but keeps it in the roster"
        if change.target not in members:
            return Verdict.WAITING, "it removes a device this one does not know yet"
    elif change.op == LEAVE:
        if change.target != change.author or change.epoch is not None:
            return Verdict.REFUSED, "a device may only leave by itself, and makes no key"
    elif change.epoch is None:
        return Verdict.REFUSED, "a rekey makes no key"
    return Verdict.TAKEN, ""


def roster(members: Mapping[str, MemberRow]) -> frozenset[str]:
    """The devices that are members now."""
    return frozenset(device_id for device_id, m in members.items() if not m.removed)


def current(epochs: Iterable[EpochRow], members: Mapping[str, MemberRow]) -> EpochRow | None:
    """The group key to write under: the greatest epoch made for exactly this roster, and held
    by no device outside it (a device added later was handed every older key, so an epoch
    older than the addition of a device removed since is never written under again)."""
    now = roster(members)
    floor = max((m.added for m in members.values() if m.removed), default=0)
    eligible = [e for e in epochs if e.members == now and e.number >= floor]
    return max(eligible, key=lambda e: (e.number, e.author), default=None)


def next_number(epochs: Iterable[EpochRow]) -> int:
    return max((e.number for e in epochs), default=0) + 1


# -- approvals chain to the group's first device ------------------------------------------------


def _certified(group_id: str, doc: DeviceDoc, by: str) -> bytes:
    fields = [group_id, doc.device_id, doc.name, doc.sign_key, doc.box_key, by]
    return b"vauth-sync-member\0" + cbor2.dumps(fields)


def certify(signing: SigningKey, approver_id: str, doc: DeviceDoc) -> Certificate:
    """The approver's signature on a new member's identity."""
    return [approver_id, signing.sign(_certified(doc.group_id, doc, approver_id)).signature]


def valid_certificate(cert: object) -> bool:
    return isinstance(cert, list) and len(cert) == 2 and isinstance(cert[1], bytes)


def vouched(
    docs: Mapping[str, DeviceDoc],
    certs: Mapping[str, Certificate],
    device_id: str,
    founder_key: bytes,
) -> bool:
    """Whether ``device_id`` descends from the group's first device (``founder_key``) through
    a chain of approvals, each signed by the member that made it."""
    seen: set[str] = set()
    current_id = device_id
    while current_id not in seen:
        seen.add(current_id)
        doc = docs.get(current_id)
        if doc is None:
            return False
        if doc.sign_key == founder_key:
            return True
        cert = certs.get(current_id)
        if cert is None or not valid_certificate(cert):
            return False
        signer = docs.get(str(cert[0]))
        if signer is None:
            return False
        try:
            VerifyKey(signer.sign_key).verify(
                _certified(doc.group_id, doc, signer.device_id), bytes(cert[1])
            )
        except (BadSignatureError, TypeError, ValueError):
            return False
        current_id = signer.device_id
    return False


# -- what a device joining is given -------------------------------------------------------------


def roster_entry(member: MemberRow, group_id: str, cert: Certificate | None) -> dict[str, Any]:
    return {
        "doc": {
            "device": member.device_id,
            "name": member.name,
            "group": group_id,
            "sign_key": member.sign_key,
            "box_key": member.box_key,
        },
        "removed": (
            None
            if member.removed_epoch is None
            else [member.removed_epoch, member.cutoff_seq or 0, sorted(member.removed_by)]
        ),
        "added": member.added,
        "cert": cert,
    }


@dataclass(frozen=True)
class Listed:
    doc: DeviceDoc
    cert: Certificate | None
    removed: tuple[int, int, frozenset[str]] | None
    added: int = 0


def parse_roster(entries: object) -> dict[str, Listed]:
    """The members a joining device's envelope lists (BadEntry if malformed)."""
    if not isinstance(entries, list):
        raise BadEntry("a key envelope's member list is not a list")
    found = {}
    for item in entries:
        doc = item.get("doc", {}) if isinstance(item, dict) else {}
        try:
            member = DeviceDoc(
                str(doc["device"]),
                str(doc["name"]),
                str(doc["group"]),
                bytes(doc["sign_key"]),
                bytes(doc["box_key"]),
            )
        except (KeyError, TypeError, ValueError):
            raise BadEntry("a key envelope lists a member without its keys") from None
        if device_id_of(member.sign_key) != member.device_id:
            raise BadEntry("a key envelope lists a member under another device's ID")
        removed = item.get("removed")
        parsed_removed = None
        if removed is not None:
            if not (
                isinstance(removed, list)
                and len(removed) == 3
                and isinstance(removed[0], int)
                and isinstance(removed[1], int)
                and isinstance(removed[2], list)
            ):
                raise BadEntry("a key envelope lists a removal wrongly")
            parsed_removed = (removed[0], removed[1], frozenset(map(str, removed[2])))
        cert, added = item.get("cert"), item.get("added", 0)
        if not isinstance(added, int) or added < 0:
            raise BadEntry("a key envelope lists a member's addition wrongly")
        found[member.device_id] = Listed(
            member, cert if valid_certificate(cert) else None, parsed_removed, added
        )
    return found


def parse_epochs(entries: object) -> list[EpochRow]:
    """Every group key a joining device's envelope hands it (BadEntry if malformed)."""
    if not isinstance(entries, list):
        raise BadEntry("a key envelope's keys are not a list")
    found = []
    for item in entries:
        if not (
            isinstance(item, list)
            and len(item) == 4
            and isinstance(item[0], int)
            and isinstance(item[1], str)
            and isinstance(item[2], bytes)
            and len(item[2]) == 32
            and (item[3] is None or isinstance(item[3], list))
        ):
            raise BadEntry("a key envelope holds a group key in the wrong form")
        members = None if item[3] is None else frozenset(map(str, item[3]))
        found.append(EpochRow(item[0], item[1], item[2], members))
    return found
