"""The application layer: what vauth does, whichever edge asks.

    device.py      Device, the async production unit (authenticator + WebAuthn client + store +
                   settings), and TesterDevice, an ephemeral one that also holds tester controls
    service.py     the service over Devices that the socket and the HTTP API share: ceremonies,
                   prompts, error codes
    operations.py  what the socket's actions do with the vault, its passkeys and its audit log
    syncing.py     the sync runner: when to publish and merge (vauth/sync/ does how)
    tester.py      a tester's controls from CDP's WebAuthn domain, and the credential events
    presence.py, store.py, keys.py, clock.py   the ports' implementations: user presence, the
                   in-memory store, key sources, the system clock

It builds on ctap/, webauthn/, vault/ and sync/; nothing here imports the daemon's edges or the
testing kit.
"""
