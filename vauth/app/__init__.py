"""The application layer."""
