"""vauth's native-messaging host: the browser extension's way to the daemon.

The browser starts ``vauth-native-host`` and talks to it over stdin/stdout (a 32-bit length
in native byte order, then UTF-8 JSON); the host checks who called it and relays each request
to ``vauth serve`` over one persistent Unix-socket connection. PROTOCOL.md has every message.
"""

from __future__ import annotations

HOST_NAME = "dev.vauth.host"
EXECUTABLE = "vauth-native-host"
DEFAULT_EXTENSION_ID = "bompmoifgjflchfcefcfnmejiaempafp"
DEFAULT_FIREFOX_ID = "vauth@vauth.dev"
DEFAULT_ORIGIN = f"chrome-extension://{DEFAULT_EXTENSION_ID}/"
