"""Another local user cannot pose as the daemon (issue 10, item 3).

Without XDG_RUNTIME_DIR the socket is /tmp/vauth-UID, a path anyone can create first. The
front ends (the CLI, the native host) talk only to a socket in a directory that is ours alone
(lstat: a real directory, our uid, no group or other bits) served by a process of our uid
(SO_PEERCRED, socket(7): the credentials in effect when the server called listen()); the daemon
serves only from such a directory. The squatter here is a real process running as nobody
(65534) that records every byte it is sent.
"""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.native_host.native_host_support import ORIGIN, Host
from tests.support import ROOT, cli, environment
from vauth.transport.unix_socket import Client, UntrustedSocket

NOBODY = 65534
SECRET = "squatted passphrase 7f3c"
EXIT_UNSAFE_SOCKET = 7

pytestmark = pytest.mark.skipif(os.getuid() != 0, reason="a listener of another uid needs root")

# Bind as root, optionally hand the directory to nobody, become nobody, then listen(): the
# listener's SO_PEERCRED is nobody's. It answers every frame with success, as a squatter
# would to make `vauth unlock` print "vault unlocked", and writes all it reads to stdout.
LISTENER = """
import os, socket, sys
path, give_directory = sys.argv[1], sys.argv[2] == "yes"
directory = os.path.dirname(path)
os.makedirs(directory, mode=0o700, exist_ok=True)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
if give_directory:
    os.chown(directory, 65534, 65534)
os.setgroups([]); os.setgid(65534); os.setuid(65534)
server.listen(8)
print("listening", flush=True)
reply = b'{"id":1,"ok":true,"result":null}'
while True:
    connection, _ = server.accept()
    while data := connection.recv(65536):
        sys.stdout.buffer.write(data); sys.stdout.buffer.flush()
        connection.sendall(len(reply).to_bytes(4, "big") + reply)
    connection.close()
"""


class Squatter:
    def __init__(self, path: Path, give_directory: bool) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", LISTENER, str(path), "yes" if give_directory else "no"],
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline() == b"listening\n"

    def received(self) -> bytes:
        """Everything it was sent (it is stopped first)."""
        self.process.kill()
        out, _ = self.process.communicate(timeout=30)
        return out


@pytest.fixture(params=["directory of another user", "listener of another user"])
def squatted(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, Squatter]]:
    """A socket path whose directory belongs to nobody (the /tmp/vauth-UID squat), or whose
    directory is ours and 0700 but whose listener runs as nobody."""
    path = tmp_path / "run" / "vauth" / "vauth.sock"
    give_directory = request.param == "directory of another user"
    squatter = Squatter(path, give_directory)
    yield path, squatter
    if squatter.process.poll() is None:
        squatter.process.kill()
        squatter.process.wait(30)


def test_cli_never_sends_the_passphrase_to_a_squatter(
    squatted: tuple[Path, Squatter], tmp_path: Path
) -> None:
    path, squatter = squatted
    env = {**environment(tmp_path, SECRET), "VAUTH_SOCKET": str(path)}
    result = cli(env, "unlock", check=False)
    received = squatter.received()
    assert SECRET.encode() not in received and received == b""
    assert result.returncode == EXIT_UNSAFE_SOCKET, result
    assert "vault unlocked" not in result.stdout
    assert f"vauth refuses the socket {path}" in result.stderr
    assert "Nothing was sent" in result.stderr
    owner = os.lstat(path.parent).st_uid
    expected = "belongs to another user" if owner == NOBODY else "runs as another user"
    assert expected in result.stderr


def test_native_host_never_relays_to_a_squatter(tmp_path: Path) -> None:
    env = environment(tmp_path, SECRET)
    path = Path(env["XDG_RUNTIME_DIR"]) / "vauth" / "vauth.sock"
    squatter = Squatter(path, give_directory=True)
    host = Host(tmp_path, ORIGIN, env=env)
    try:
        assert host.call(1, "host.hello")["result"]["daemon"] is False
        reply = host.call(2, "unlock", passphrase=SECRET)
    finally:
        host.kill()
        received = squatter.received()
    assert received == b""
    assert reply["ok"] is False and reply["error"]["code"] == "daemon_unavailable"
    assert "belongs to another user (uid 65534)" in reply["error"]["message"]
    assert "Nothing was sent" in reply["error"]["message"]


@pytest.mark.parametrize("kind", ["group or other bits", "symbolic link", "a file"])
def test_client_refuses_a_directory_not_ours_alone(tmp_path: Path, kind: str) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    directory = tmp_path / "run"
    if kind == "group or other bits":
        directory.mkdir(mode=0o700)
        directory.chmod(0o755)
    elif kind == "symbolic link":
        directory.symlink_to(private)
    else:
        directory.write_text("")
    with pytest.raises(UntrustedSocket, match="vauth refuses the socket"):
        asyncio.run(Client.connect(directory / "vauth.sock"))


@pytest.mark.parametrize("owner, mode", [(NOBODY, 0o700), (0, 0o755)])
def test_daemon_refuses_to_serve_from_a_directory_not_its_own(
    tmp_path: Path, owner: int, mode: int
) -> None:
    directory = tmp_path / "run"
    directory.mkdir(mode=0o700)
    directory.chmod(mode)
    os.chown(directory, owner, owner)
    env = environment(tmp_path)
    socket = str(directory / "vauth.sock")
    served = subprocess.run(
        [
            sys.executable,
            "-m",
            "vauth.cli",
            "serve",
            "--ephemeral",
            "--no-http",
            "--socket",
            socket,
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert served.returncode == EXIT_UNSAFE_SOCKET, served.stderr
    assert f"vauth will not serve its socket from {directory}" in served.stderr
    assert stat.S_IMODE(directory.stat().st_mode) == mode  # left as it was, not "fixed"
    assert not (directory / "vauth.sock").exists()
