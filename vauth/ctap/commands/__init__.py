"""One module per CTAP command: a ``Context`` naming the components it uses, and ``handle``."""
