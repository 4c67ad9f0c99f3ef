"""What several test packages share: a real `vauth serve` in its own process, with its XDG
directories under a test's temporary folder, and the helpers to talk WebAuthn to it."""

from __future__ import annotations

import base64
import functools
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "daemon test passphrase"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def environment(base: Path, passphrase: str = PASSPHRASE) -> dict[str, str]:
    """The environment of a daemon (and its CLI, host and browser) living under ``base``."""
    (base / "run").mkdir(exist_ok=True)
    return {
        **os.environ,
        "HOME": str(base / "home"),
        "XDG_RUNTIME_DIR": str(base / "run"),
        "XDG_DATA_HOME": str(base / "data"),
        "XDG_CONFIG_HOME": str(base / "config"),
        "VAUTH_PASSPHRASE": passphrase,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }


def cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`vauth ARGS` in ``env``; with ``check``, a non-zero exit fails the test."""
    result = subprocess.run(
        [sys.executable, "-m", "vauth.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def creation(user: str) -> dict[str, Any]:
    """PublicKeyCredentialCreationOptionsJSON for a discoverable ES256 passkey at example.com."""
    return {
        "rp": {"id": "example.com", "name": "Example"},
        "user": {"id": b64(user.encode()), "name": user, "displayName": user.title()},
        "challenge": b64(os.urandom(32)),
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "authenticatorSelection": {"residentKey": "required"},
    }


class Daemon:
    """`vauth serve` in its own process (``--no-http`` unless ``extra`` names an ``--http``);
    its log is kept in ``log``."""

    def __init__(
        self, base: Path, *extra: str, env: dict[str, str] | None = None, **popen: Any
    ) -> None:
        """``popen``: more of subprocess.Popen's arguments (a terminal as stdin, say)."""
        self.env = env or environment(base)
        self.socket = Path(self.env["XDG_RUNTIME_DIR"]) / "vauth" / "vauth.sock"
        http = any(arg == "--http" or arg.startswith("--http=") for arg in extra)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vauth.cli", "serve", *([] if http else ["--no-http"]), *extra],
            env=self.env,
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
            **popen,
        )
        assert self.process.stderr is not None
        self.log: list[str] = []
        for line in self.process.stderr:
            self.log.append(line)
            if "vauth: ready" in line:
                break
        else:
            raise AssertionError("the daemon did not start:\n" + "".join(self.log))
        # Keep reading its log, or a full pipe would stop the daemon mid-sentence.
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return cli(self.env, *args, check=check)

    @property
    def http_url(self) -> str:
        """The HTTP API's base URL, as the daemon logged it (``--http 127.0.0.1:0`` works)."""
        for line in self.log:
            found = re.search(r"http: (http://[^\s\"]+)", line)
            if found:
                return found.group(1)
        raise AssertionError("the daemon serves no HTTP API")

    @functools.cached_property
    def token(self) -> str:
        """The HTTP API's bearer token (the daemon wrote it when it started)."""
        return (Path(self.env["XDG_CONFIG_HOME"]) / "vauth" / "token").read_text().strip()

    def stop(self) -> int:
        """SIGTERM, and the exit code (0 for a graceful stop)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self._reader.join(10)
        return code
