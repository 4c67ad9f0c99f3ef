"""The vault's schema, as forward migrations: migration N takes a vault at user_version N-1 to
N. Opening an older vault applies the rest in one transaction; a newer one is refused."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: settings and credentials
    (
        """CREATE TABLE settings (
            name TEXT PRIMARY KEY,
            value BLOB NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE credentials (
            credential_id BLOB PRIMARY KEY,
            rp_id_hash BLOB NOT NULL,
            rp_id TEXT NOT NULL,
            rp_name TEXT,
            user_handle BLOB,
            user_name TEXT,
            user_display_name TEXT,
            algorithm INTEGER NOT NULL,
            private_key BLOB NOT NULL,
            discoverable INTEGER NOT NULL,
            sign_count INTEGER NOT NULL,
            sign_count_policy TEXT NOT NULL,
            backup_eligible INTEGER NOT NULL,
            backup_state INTEGER NOT NULL,
            cred_protect INTEGER NOT NULL,
            created INTEGER NOT NULL,
            last_used INTEGER,
            large_blob BLOB,
            cred_random_with_uv BLOB,
            cred_random_without_uv BLOB,
            cred_blob BLOB,
            large_blob_key BLOB
        )""",
        "CREATE INDEX credentials_by_rp ON credentials (rp_id_hash, created)",
    ),
    # 2: nicknames, and the audit log of ceremonies
    (
        "ALTER TABLE credentials ADD COLUMN nickname TEXT",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            ceremony TEXT NOT NULL,
            rp_id TEXT,
            credential_id BLOB,
            outcome TEXT NOT NULL
        )""",
        "CREATE INDEX audit_by_credential ON audit (credential_id, at)",
    ),
    # 3: every credential vauth issues is listed (those whose key is sealed in their ID have a
    #    row without a key), deleted ones wait in a trash, and the audit log names who changed
    #    what. The live credentials are a view, so every read that does not ask for the trash
    #    sees only them.
    (
        "ALTER TABLE credentials ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE credentials ADD COLUMN deleted_at INTEGER",
        "ALTER TABLE credentials ADD COLUMN deleted_by TEXT",
        "CREATE INDEX credentials_in_trash ON credentials (deleted_at) "
        "WHERE deleted_at IS NOT NULL",
        "CREATE VIEW live_credentials AS "
        "SELECT rowid AS rowid, * FROM credentials WHERE deleted_at IS NULL",
        # IDs of deleted credentials whose key is sealed in the ID: they must never sign again
        """CREATE TABLE revoked (
            credential_id BLOB PRIMARY KEY,
            at INTEGER NOT NULL
        ) WITHOUT ROWID""",
        "ALTER TABLE audit ADD COLUMN actor TEXT",
        "ALTER TABLE audit ADD COLUMN detail TEXT",
    ),
    # 4: sync between a person's devices (vauth/sync/). A credential is synced or device-only
    #    for life: existing ones stay device-only. Every change to a synced one is queued in the
    #    outbox in the transaction that makes it; the rest is the sync group as this device
    #    knows it: members, content keys by epoch, what was applied from whom, field clocks for
    #    the merge rule, and refused segments.
    (
        "ALTER TABLE credentials ADD COLUMN synced INTEGER NOT NULL DEFAULT 0",
        """CREATE TABLE sync_outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            credential_id BLOB,
            fields TEXT,
            hlc INTEGER NOT NULL,
            data BLOB
        )""",
        """CREATE TABLE sync_devices (
            device_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            sign_key BLOB NOT NULL,
            box_key BLOB NOT NULL,
            this_device INTEGER NOT NULL DEFAULT 0,
            removed_epoch INTEGER,
            cutoff_seq INTEGER,
            last_seq INTEGER NOT NULL DEFAULT 0,
            last_hash BLOB,
            last_seen INTEGER
        ) WITHOUT ROWID""",
        """CREATE TABLE sync_keys (
            epoch INTEGER PRIMARY KEY,
            key BLOB NOT NULL
        ) WITHOUT ROWID""",
        # per credential (b"": the synced settings), CBOR {field: [hlc, device ID, value]}
        """CREATE TABLE sync_clock (
            credential_id BLOB PRIMARY KEY,
            clocks BLOB NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE sync_refused (
            path TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            at INTEGER NOT NULL
        ) WITHOUT ROWID""",
    ),
    # 5: a group key (an epoch) is named by its number and the device that made it, and kept
    #    with the roster of the membership change that made it: a key no applied change
    #    explains is never used (issue 19). Epochs kept from before have no roster (NULL):
    #    they still open old segments, and the group moves to a new one. A member is kept with
    #    the epoch that added it, since it was handed every key older than that. The files
    #    this device wrote to the folder are kept (with the version it last found them at),
    #    so that it restores them when they are damaged; a refusal says what repairs it.
    (
        """CREATE TABLE sync_epochs (
            number INTEGER NOT NULL,
            author TEXT NOT NULL,
            key BLOB NOT NULL,
            members BLOB,
            wrap_key BLOB,
            PRIMARY KEY (number, author)
        ) WITHOUT ROWID""",
        "INSERT INTO sync_epochs (number, author, key) SELECT epoch, '', key FROM sync_keys",
        "DROP TABLE sync_keys",
        "ALTER TABLE sync_devices ADD COLUMN removed_by TEXT",
        # the number of the epoch that added the device: it was handed every earlier key
        "ALTER TABLE sync_devices ADD COLUMN added INTEGER NOT NULL DEFAULT 0",
        """CREATE TABLE sync_written (
            path TEXT PRIMARY KEY,
            digest BLOB NOT NULL,
            data BLOB NOT NULL,
            seen BLOB
        ) WITHOUT ROWID""",
        "ALTER TABLE sync_refused ADD COLUMN repair TEXT",
    ),
)
LATEST = len(MIGRATIONS)
