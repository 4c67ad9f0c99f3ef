"""The daemon and its edges."""
