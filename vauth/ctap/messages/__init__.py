"""The CTAP2 message schema, shared by the authenticator and vauth's own client: one module per
command, typed frozen requests and responses, each CBOR key named once (CTAP 2.1 section 6)."""
