"""The loopback HTTP API: W3C WebDriver's virtual-authenticator commands, without the
``/session/{id}`` prefix, plus vauth's own ``ctap``, ``create`` and ``get``."""

from vauth.daemon.api.app import MAX_BODY_BYTES, create_app
from vauth.daemon.api.errors import ApiError
from vauth.daemon.api.server import ApiServer, Limits

__all__ = ["MAX_BODY_BYTES", "ApiError", "ApiServer", "Limits", "create_app"]
