"""The daemon's PinHasher: Argon2id of a PIN on a worker thread, so a PIN check (15-50 ms of
hashing) never stalls the event loop that serves every other request."""

from __future__ import annotations

import asyncio

from vauth.ctap import pin_state


class ThreadedPinHasher:
    async def hash_pin(self, left_pin_hash: bytes, salt: bytes, cost: tuple[int, int]) -> bytes:
        return await asyncio.to_thread(pin_state.argon2id_pin_hash, left_pin_hash, salt, cost)
