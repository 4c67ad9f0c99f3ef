"""A tester-mode daemon for a test: ``vauth serve --ephemeral --presence auto --http
127.0.0.1:0`` in its own process and its own directories (so parallel workers never collide),
configured with W3C WebDriver / CDP options, and driven over its HTTP API.

    with VauthDaemon.start(tmp_path, {"hasPrf": True}) as daemon:
        daemon.set_response_override_bits(isBogusSignature=True)

A new interpreter spends most of a second importing the daemon's modules, so a test suite
asks a ``DaemonFactory`` instead: one warm interpreter that forks a fresh daemon (a new process,
a new authenticator, nothing shared with the one before) in a few tens of milliseconds.

    with DaemonFactory() as factory, factory.start(env, {"hasPrf": True}) as daemon: ...

``pytest_plugin``'s ``vauth_daemon`` and ``vauth_page`` fixtures are built on them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import traceback
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

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


def serve_arguments(options: dict[str, Any] | None) -> list[str]:
    """``vauth serve``'s arguments for a tester daemon with these authenticator options."""
    tester = ["serve", "--ephemeral", "--presence", "auto", "--http", "127.0.0.1:0"]
    return [*tester, "--authenticator", json.dumps(options or {})]


class DaemonProcess(Protocol):
    """What VauthDaemon needs of its process: a subprocess.Popen, or a ``Forked`` one."""

    pid: int
    stdout: IO[str] | None
    stderr: IO[str] | None

    def poll(self) -> int | None: ...
    def send_signal(self, sig: int) -> None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def kill(self) -> None: ...


def install_native_host(env: dict[str, str], browser: str, user_data_dir: Path | None) -> None:
    """Register vauth's native host for a browser run in ``env`` (Chromium: in its profile
    ``user_data_dir``; Firefox: None, under ``env``'s HOME, where Firefox reads it)."""
    command = [sys.executable, "-m", "vauth.cli", "native-host", "install", "--browser", browser]
    if user_data_dir is not None:
        command += ["--user-data-dir", str(user_data_dir)]
    done = subprocess.run(  # noqa: S603 - this Python, vauth's own CLI
        command, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise HarnessError(f"the native host was not installed: {done.stderr.strip()}")


@dataclass
class VauthDaemon:
    """One tester-mode daemon: its environment, process, HTTP base URL and token."""

    env: dict[str, str]
    process: DaemonProcess
    url: str
    token: str
    socket: Path
    log: list[str] = field(default_factory=list)
    drain: threading.Thread | None = None  # reads the daemon's stderr into ``log``

    @classmethod
    def start(cls, base: Path, options: dict[str, Any] | None = None) -> VauthDaemon:
        """Start one under ``base`` with these W3C WebDriver / CDP authenticator options, in a
        new interpreter (a suite of tests: ``DaemonFactory``)."""
        env = environment(base)
        command = [sys.executable, "-m", "vauth.cli", *serve_arguments(options)]
        process = subprocess.Popen(  # noqa: S603 - this Python, vauth's own CLI
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        return cls.ready(env, process)

    @classmethod
    def ready(cls, env: dict[str, str], process: DaemonProcess) -> VauthDaemon:
        """The daemon once ``process`` has printed its ready line (HarnessError if it ended)."""
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
        return cls(env, process, ready["http"], token, Path(ready["socket"]), log, drain)

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
        install_native_host(self.env, browser, user_data_dir)

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
        if self.drain is not None:
            self.drain.join(5)  # its log is whole: the daemon has ended, so has its stderr
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()  # a suite starts thousands: none may keep its pipes
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


# -- a warm interpreter that forks daemons -------------------------------------------------------

_WARM_MODULES = (
    "vauth.cli",
    "vauth.daemon.root",
    "vauth.app.device",
    "vauth.daemon.api.app",
    "vauth.daemon.actions",
)
_MESSAGE_LIMIT = 1 << 20


class Forked:
    """A daemon forked by the factory: not this process's child, so it is signalled through a
    pidfd (never a recycled pid) and its end is seen on a pipe only it holds open; it writes
    its exit code there last."""

    def __init__(self, pid: int, pidfd: int, stdout: IO[str], stderr: IO[str], status: int):
        self.pid = pid
        self.stdout: IO[str] | None = stdout
        self.stderr: IO[str] | None = stderr
        self._pidfd = pidfd
        self._status = status
        self._code: int | None = None
        self._written = b""

    def poll(self) -> int | None:
        return self._collect(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._collect(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(f"vauth daemon {self.pid}", timeout or 0)
        return code

    def send_signal(self, sig: int) -> None:
        if self._code is None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _collect(self, timeout: float | None) -> int | None:
        while self._code is None:
            readable, _, _ = select.select([self._status], [], [], timeout)
            if not readable:
                return None
            chunk = os.read(self._status, 64)
            if chunk:
                self._written += chunk
                continue
            # The pipe's end: the process is gone. No code written: it was killed.
            text = self._written.decode(errors="replace").strip()
            self._code = int(text) if text.lstrip("-").isdigit() else -signal.SIGKILL
            os.close(self._status)
            os.close(self._pidfd)
        return self._code


class DaemonFactory:
    """One Python process that has imported the daemon's modules and forks a tester daemon on
    request (``python -m vauth.testing.harness``, over a socket pair that passes the new daemon's
    pipes). Each daemon is ``vauth serve`` run by vauth's own CLI in a new process."""

    def __init__(self, log: Path | None = None) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        errors = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._server = subprocess.Popen(  # noqa: S603 - this Python, vauth's own module
                [sys.executable, "-m", "vauth.testing.harness", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )
        finally:
            theirs.close()
            if not isinstance(errors, int):
                errors.close()
        self._socket = ours
        self._lock = threading.Lock()

    def start(self, env: dict[str, str], options: dict[str, Any] | None = None) -> VauthDaemon:
        """A new tester daemon in ``env`` (its directories: see ``environment``) with these W3C
        WebDriver / CDP authenticator options."""
        request = json.dumps({"argv": serve_arguments(options), "env": env}).encode()
        pipes = [os.pipe() for _ in range(3)]  # stdout, stderr, exit status
        try:
            with self._lock:
                socket.send_fds(self._socket, [request], [w for _, w in pipes])
                reply, fds, _, _ = socket.recv_fds(self._socket, _MESSAGE_LIMIT, 1)
        except OSError as exc:
            for r, _ in pipes:
                os.close(r)
            raise HarnessError(f"the daemon factory stopped: {exc}") from None
        finally:
            for _, w in pipes:
                os.close(w)
        if not reply or not fds:
            for r, _ in pipes:
                os.close(r)
            raise HarnessError(f"the daemon factory stopped (exit {self._server.wait(10)})")
        (out, _), (err, _), (status, _) = pipes
        process = Forked(json.loads(reply)["pid"], fds[0], open(out), open(err), status)  # noqa: SIM115
        return VauthDaemon.ready(env, process)

    def close(self) -> None:
        self._socket.close()  # the server stops every daemon it forked that still runs, and ends
        try:
            self._server.wait(30)
        except subprocess.TimeoutExpired:
            self._server.kill()
            self._server.wait(10)

    def __enter__(self) -> DaemonFactory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fork_server(control: socket.socket) -> None:
    """The factory's process: warm the daemon's modules, then fork one daemon per request.
    Forked before any thread or event loop exists, each child starts clean."""
    from importlib import import_module

    for name in _WARM_MODULES:
        import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the daemons
    children: list[int] = []  # their pidfds, to stop those still running at the end
    while True:
        try:
            request, fds, _, _ = socket.recv_fds(control, _MESSAGE_LIMIT, 3)
        except OSError:
            break
        if not request:
            break
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(control, json.loads(request), fds)
        for fd in fds:
            os.close(fd)
        pidfd = os.pidfd_open(pid)
        children = [fd for fd in children if not _ended(fd)]
        children.append(pidfd)
        socket.send_fds(control, [json.dumps({"pid": pid}).encode()], [pidfd])
    for pidfd in children:
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(pidfd, signal.SIGTERM)


def _ended(pidfd: int) -> bool:
    readable, _, _ = select.select([pidfd], [], [], 0)
    if readable:
        os.close(pidfd)
    return bool(readable)


def _child(control: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    """A forked daemon: its pipes as stdin/stdout/stderr, its environment, then vauth's CLI."""
    code = 1
    try:
        control.close()
        stdout, stderr, status = fds
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        os.close(stdout)
        os.close(stderr)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(request["env"])
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True)
        from vauth import cli

        try:
            code = cli.main(request["argv"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        os.write(status, str(code).encode())
    except BaseException:  # a forked child must never return into the server's loop
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    _fork_server(socket.socket(fileno=int(sys.argv[1])))
