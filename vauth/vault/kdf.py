"""Argon2id key derivation with parameters recorded beside the vault, so they can be raised
later without breaking older vaults.

The derivation is libsodium's ``crypto_pwhash`` (Argon2id v1.3, ``opslimit`` passes, ``memlimit``
bytes, one lane), called through PyNaCl's own cffi binding so that it reads the passphrase from,
and writes the key into, buffers vauth wipes: PyNaCl's ``argon2id.kdf`` takes and returns only
immutable ``bytes``, and cryptography's Argon2id (OpenSSL) leaves a copy of the passphrase in
freed memory (tests/security/test_secrets_in_memory.py finds it)."""

from __future__ import annotations

import ctypes
import secrets
from dataclasses import dataclass

import nacl.pwhash
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nacl import _sodium  # PyNaCl's own cffi binding

from vauth.secret import Secret, utf8, wipe

SALT_LENGTH = nacl.pwhash.argon2id.SALTBYTES  # 16
KEY_LENGTH = 32


@dataclass(frozen=True, slots=True)
class KdfParams:
    salt: bytes
    opslimit: int = nacl.pwhash.argon2id.OPSLIMIT_MODERATE  # 3 passes
    memlimit: int = nacl.pwhash.argon2id.MEMLIMIT_MODERATE  # 256 MiB

    @classmethod
    def fresh(cls) -> KdfParams:
        """The default cost with a new random salt."""
        return cls(secrets.token_bytes(SALT_LENGTH))

    def derive(self, passphrase: Secret) -> bytearray:
        """The 32-byte key-encryption key for ``passphrase`` (slow on purpose), in a buffer
        the caller wipes."""
        argon2id = nacl.pwhash.argon2id
        if len(self.salt) != SALT_LENGTH:
            raise ValueError("the key-derivation salt has the wrong length")
        if not argon2id.OPSLIMIT_MIN <= self.opslimit <= argon2id.OPSLIMIT_MAX:
            raise ValueError("the key derivation's opslimit is out of range")
        if not argon2id.MEMLIMIT_MIN <= self.memlimit <= argon2id.MEMLIMIT_MAX:
            raise ValueError("the key derivation's memlimit is out of range")
        key = bytearray(KEY_LENGTH)
        with utf8(passphrase) as secret:
            status = _argon2id(key, secret, self.salt, self.opslimit, self.memlimit)
        # libsodium leaves the key in a buffer on this thread's stack and in vector registers:
        # the same code run again, as cheaply as it goes, overwrites the registers, and the
        # stack below this frame is zeroed.
        _argon2id(bytearray(KEY_LENGTH), bytearray(8), bytes(SALT_LENGTH), 1, 8 << 10)
        scrub_stack()
        if status != 0:
            wipe(key)
            raise MemoryError("the key derivation could not get its memory")
        return key

    def to_json(self) -> dict[str, object]:
        return {
            "algorithm": "argon2id",
            "salt": self.salt.hex(),
            "opslimit": self.opslimit,
            "memlimit": self.memlimit,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> KdfParams:
        if data.get("algorithm") != "argon2id":
            raise ValueError(f"unknown key derivation {data.get('algorithm')!r}")
        salt = bytes.fromhex(str(data["salt"]))
        opslimit, memlimit = data["opslimit"], data["memlimit"]
        if (
            len(salt) != SALT_LENGTH
            or not isinstance(opslimit, int)
            or not isinstance(memlimit, int)
        ):
            raise ValueError("malformed key derivation parameters")
        return cls(salt, opslimit, memlimit)


# libsodium's sodium_stackzero(len) zeroes ``len`` bytes of the stack below its caller. PyNaCl
# links libsodium into its extension without binding it, so it is found among the extension's
# symbols and called through cffi, as crypto_pwhash is: from the same depth of the C stack.
_STACK_ZERO = _sodium.ffi.cast(
    "void (*)(size_t)",
    ctypes.cast(ctypes.CDLL(_sodium.__file__).sodium_stackzero, ctypes.c_void_p).value,
)
SCRUBBED_STACK = 64 * 1024
_NO_KEY = bytes(KEY_LENGTH)


def scrub_stack() -> None:
    """Zero this thread's stack below the caller, where C code that handled a key may have
    left copies (libsodium's BLAKE2b finalisation never clears its output buffer). Python
    functions called in one thread share the interpreter's C frame, so one call here reaches
    what any of them left; a pool's thread keeps its stack for the daemon's life."""
    _STACK_ZERO(SCRUBBED_STACK)


def forget_aes_key() -> None:
    """After AES-GCM under a key-encryption key: OpenSSL's AES-NI key setup leaves the key in
    vector registers, which the C library saves on the stack as they are (when it resolves a
    symbol, when the thread ends), out of reach of any wipe; seen after `lock` by
    tests/security/test_secrets_in_memory.py. The same setup under a key of zeros overwrites
    them, then the stack is zeroed."""
    AESGCM(_NO_KEY).encrypt(bytes(12), b"", None)
    scrub_stack()


def _argon2id(out: bytearray, secret: bytearray, salt: bytes, opslimit: int, memlimit: int) -> int:
    """libsodium's crypto_pwhash in place (cffi lets other threads run meanwhile); 0 if done."""
    status: int = _sodium.lib.crypto_pwhash(
        _sodium.ffi.from_buffer(out),
        len(out),
        _sodium.ffi.from_buffer(secret),
        len(secret),
        salt,
        opslimit,
        memlimit,
        _sodium.lib.crypto_pwhash_alg_argon2id13(),
    )
    return status
