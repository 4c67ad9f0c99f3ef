"""Real processes for the native host's tests: a daemon (`vauth serve`) and the host itself,
talking native messaging over pipes exactly as a browser would."""

from __future__ import annotations

import json
import os
import queue
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tests.support import PASSPHRASE, ROOT, Daemon, b64, creation, environment

__all__ = ["PASSPHRASE", "ROOT", "Daemon", "Host", "b64", "creation", "environment"]
ORIGIN = "chrome-extension://bompmoifgjflchfcefcfnmejiaempafp/"
TIMEOUT_S = 30.0


class Host:
    """`python -m native_host.host ARGS` with pipes for stdin and stdout."""

    def __init__(self, base: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.stderr_path = base / f"host-{os.urandom(4).hex()}.log"
        self._stderr = self.stderr_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "native_host.host", *(args or (ORIGIN,))],
            env=env or environment(base),
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self.frames: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.process.stdout
        assert out is not None
        while len(header := out.read(4)) == 4:
            (length,) = struct.unpack("=I", header)
            self.frames.put(out.read(length))
        self.frames.put(None)

    def send_raw(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message: object) -> None:
        body = json.dumps(message).encode()
        self.send_raw(struct.pack("=I", len(body)) + body)

    def request(self, request_id: object, action: str, **params: Any) -> None:
        self.send({"id": request_id, "action": action, "params": params})

    def frame(self, timeout: float = TIMEOUT_S) -> bytes | None:
        """The next frame's body (None: the host closed its output)."""
        return self.frames.get(timeout=timeout)

    def recv(self, timeout: float = TIMEOUT_S) -> dict[str, Any]:
        body = self.frame(timeout)
        assert body is not None, "the host closed its output: " + self.log()
        message: dict[str, Any] = json.loads(body)
        return message

    def call(self, request_id: object, action: str, **params: Any) -> dict[str, Any]:
        self.request(request_id, action, **params)
        reply = self.recv()
        assert reply["id"] == request_id, reply
        return reply

    def close_input(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()

    def exit_code(self, timeout: float = TIMEOUT_S) -> int:
        return self.process.wait(timeout=timeout)

    def log(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._stderr.close()
