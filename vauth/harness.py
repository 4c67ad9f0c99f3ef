"""A tester-mode daemon for a test: ``vauth serve --ephemeral --presence auto --http
127.0.0.1:0`` in its own process and its own directories (so parallel workers never collide),
configured with W3C WebDriver / CDP options, and driven over its HTTP API.

    with VauthDaemon.start(tmp_path, {"hasPrf": True}) as daemon:
        daemon.set_response_override_bits(isBogusSignature=True)

``pytest_plugin``'s ``vauth_daemon`` and ``vauth_page`` fixtures are built on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VAULT = "vault"  # the daemon's own authenticator, the one a browser's extension reaches
BASE = "/webauthn/authenticator"


class HarnessError(RuntimeError):
    """The daemon did not start, or its API refused a request (the message says which)."""


def environment(base: Path) -> dict[str, str]:
    """A daemon's (and its browser's) environment with every vauth directory under ``base``."""
    for name in ("run", "data", "config", "home"):
        (base / name).mkdir(parents=True, exist_ok=True, mode=0o700)
    return {
        **os.environ,
        "HOME": str(base / "home"),
        "XDG_RUNTIME_DIR": str(base / "run"),
        "XDG_DATA_HOME": str(base / "data"),
        "XDG_CONFIG_HOME": str(base / "config"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }


@dataclass
class VauthDaemon:
    """One tester-mode daemon: its environment, process, HTTP base URL and token."""

    env: dict[str, str]
    process: subprocess.Popen[str]
    url: str
    token: str
    socket: Path
    log: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, base: Path, options: dict[str, Any] | None = None) -> VauthDaemon:
        """Start one under ``base`` with these W3C WebDriver / CDP authenticator options."""
        env = environment(base)
        command = [sys.executable, "-m", "vauth.cli", "serve", "--ephemeral"]
        command += ["--presence", "auto", "--http", "127.0.0.1:0"]
        command += ["--authenticator", json.dumps(options or {})]
        process = subprocess.Popen(  # noqa: S603 - this Python, vauth's own CLI
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert process.stdout is not None and process.stderr is not None
        log: list[str] = []
        drain = threading.Thread(target=lambda: log.extend(process.stderr or ()), daemon=True)
        drain.start()
        line = process.stdout.readline()
        if not line:
            process.wait(timeout=30)
            drain.join(5)
            raise HarnessError("the vauth daemon did not start:\n" + "".join(log))
        ready = json.loads(line)
        token = Path(ready["tokenFile"]).read_text().strip()
        return cls(env, process, ready["http"], token, Path(ready["socket"]), log)

    # -- the HTTP API -------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One API call; its JSON answer, or HarnessError with the API's error sentence."""
        data = None if body is None else json.dumps(body).encode()
        if not self.url.startswith("http://127.0.0.1:"):
            raise HarnessError(f"the daemon's API is not on loopback: {self.url}")
        request = urllib.request.Request(  # noqa: S310 - http on loopback, checked above
            self.url + path, data=data, method=method
        )
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            answer = json.loads(exc.read() or b"{}")
            raise HarnessError(f"{method} {path}: {answer.get('message', exc)}") from None

    def credentials(self, authenticator: str = VAULT) -> list[dict[str, Any]]:
        return self.request("GET", f"{BASE}/{authenticator}/credentials")  # type: ignore[no-any-return]

    def add_credential(self, params: dict[str, Any], authenticator: str = VAULT) -> None:
        self.request("POST", f"{BASE}/{authenticator}/credential", params)

    def set_response_override_bits(self, authenticator: str = VAULT, **bits: bool) -> None:
        """CDP names: isBogusSignature, isBadUV, isBadUP."""
        self.request("POST", f"{BASE}/{authenticator}/response-override-bits", bits)

    def fail_next(self, status: int | str | None, authenticator: str = VAULT) -> None:
        self.request("POST", f"{BASE}/{authenticator}/fail-next", {"status": status})

    def set_user_verified(self, value: bool, authenticator: str = VAULT) -> None:
        self.request("POST", f"{BASE}/{authenticator}/uv", {"isUserVerified": value})

    def install_native_host(self, user_data_dir: Path | None, browser: str = "chromium") -> None:
        """Register vauth's native host with this browser profile, for this daemon's socket
        (Firefox: ``user_data_dir`` None, the manifest goes under this daemon's HOME)."""
        command = [sys.executable, "-m", "vauth.cli", "native-host", "install"]
        command += ["--browser", browser]
        if user_data_dir is not None:
            command += ["--user-data-dir", str(user_data_dir)]
        done = subprocess.run(  # noqa: S603 - this Python, vauth's own CLI
            command, env=self.env, capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            raise HarnessError(f"the native host was not installed: {done.stderr.strip()}")

    @contextlib.contextmanager
    def events(self, authenticator: str = VAULT) -> Iterator[EventReader]:
        """The authenticator's CDP events (GET .../events), from the moment this returns."""
        request = urllib.request.Request(  # noqa: S310 - loopback, as in request()
            f"{self.url}{BASE}/{authenticator}/events",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        response = urllib.request.urlopen(request, timeout=60)  # noqa: S310
        reader = EventReader(response)
        try:
            name, _ = reader.next()
            if name != "ready":
                raise HarnessError(f"the event stream began with {name}, not ready")
            yield reader
        finally:
            response.close()

    # -- its end ------------------------------------------------------------------------------

    def stop(self) -> int:
        """SIGTERM, and the exit code (0 for a graceful stop)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code

    def __enter__(self) -> VauthDaemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EventReader:
    """Server-sent events read off a response: ``next()`` gives (CDP name, parameters)."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def next(self) -> tuple[str, Any]:
        name, data = "", ""
        for raw in self._response:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event:"):
                name = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data += line.removeprefix("data:").strip()
            elif not line and name:
                return name, json.loads(data) if data else None
        raise HarnessError("the event stream ended")
