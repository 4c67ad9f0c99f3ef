"""The authenticator core: CTAP 2.1 bytes in, bytes out; no sockets, no files, nothing outward."""
