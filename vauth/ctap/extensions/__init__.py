"""CTAP extensions, one module each."""
