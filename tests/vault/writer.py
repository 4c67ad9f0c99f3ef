"""A writer process for the crash test: ceremonies in a storm, each acknowledged on stdout only
after it returned (so after the vault committed it)."""

from __future__ import annotations

import hashlib
import os
import sys

from vauth import VirtualAuthenticator
from vauth.ctap import cbor


def main(path: str, passphrase: str) -> None:
    va = VirtualAuthenticator(vault=path, passphrase=passphrase)
    n = 0
    while True:
        n += 1
        user = f"user-{os.getpid()}-{n}".encode()
        response = va.process(
            b"\x01"
            + cbor.encode(
                {
                    1: hashlib.sha256(user).digest(),
                    2: {"id": "crash.example"},
                    3: {"id": user, "name": user.decode()},
                    4: [{"alg": -7, "type": "public-key"}],
                    7: {"rk": True, "uv": True},
                }
            )
        )
        auth_data = cbor.decode(response[1:])[2]
        credential_id = auth_data[55 : 55 + int.from_bytes(auth_data[53:55], "big")]
        print(f"made {credential_id.hex()}", flush=True)
        for _ in range(3):
            response = va.process(
                b"\x02"
                + cbor.encode(
                    {
                        1: "crash.example",
                        2: hashlib.sha256(os.urandom(8)).digest(),
                        3: [{"id": credential_id, "type": "public-key"}],
                    }
                )
            )
            count = int.from_bytes(cbor.decode(response[1:])[2][33:37], "big")
            print(f"count {credential_id.hex()} {count}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
