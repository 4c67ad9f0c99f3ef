"""Real Syncthing instances on loopback, for the sync tests.

Each instance has its own home (``syncthing generate``), its GUI/REST API on ``127.0.0.1:<free
port>`` with an API key, a sync listener on ``tcp://127.0.0.1:<free port>`` and nothing that reaches
beyond the machine: global and local discovery, relays, NAT traversal, STUN, usage reporting, crash
reporting and automatic upgrades are all off. Peers are introduced with static addresses and the
shared folder is configured through the REST config API (``/rest/config/devices``,
``/rest/config/folders``), scans are asked for with ``POST /rest/db/scan`` -- the documented API of
Syncthing v1.19 (https://docs.syncthing.net/dev/rest.html).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

SYNCTHING = shutil.which("syncthing")
FOLDER_ID = "vauth-sync"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Options that keep an instance on loopback and quiet (config.xml <options>).
_OPTIONS = {
    "globalAnnounceEnabled": "false",
    "localAnnounceEnabled": "false",
    "relaysEnabled": "false",
    "natEnabled": "false",
    "urAccepted": "-1",
    "crashReportingEnabled": "false",
    "autoUpgradeIntervalH": "0",
    "startBrowser": "false",
    "stunKeepaliveStartS": "0",
    "stunKeepaliveMinS": "0",
    "reconnectionIntervalS": "1",
    "progressUpdateIntervalS": "-1",
    "setLowPriority": "false",
    "announceLANAddresses": "false",
}


@dataclass
class Syncthing:
    """One running ``syncthing serve`` with its own home, folder and REST API."""

    name: str
    home: Path
    folder: Path
    gui_port: int = field(default_factory=free_port)
    sync_port: int = field(default_factory=free_port)
    api_key: str = field(default_factory=lambda: os.urandom(16).hex())
    device_id: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.sync_port}"

    def generate(self) -> None:
        assert SYNCTHING is not None
        self.home.mkdir(parents=True, exist_ok=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [SYNCTHING, "generate", f"--home={self.home}", "--no-default-folder"],
            check=True,
            capture_output=True,
        )
        config = self.home / "config.xml"
        tree = ET.parse(config)
        root = tree.getroot()
        own = root.find("device")
        assert own is not None
        self.device_id = own.attrib["id"]
        own.attrib["name"] = self.name
        gui = root.find("gui")
        assert gui is not None
        _set(gui, "address", f"127.0.0.1:{self.gui_port}")
        _set(gui, "apikey", self.api_key)
        options = root.find("options")
        assert options is not None
        for element in options.findall("listenAddress"):
            options.remove(element)
        _set(options, "listenAddress", self.address)
        for key, value in _OPTIONS.items():
            _set(options, key, value)
        tree.write(config)

    def start(self) -> None:
        assert SYNCTHING is not None
        log = (self.home / "syncthing.log").open("ab")
        env = {**os.environ, "STNODEFAULTFOLDER": "1", "STNOUPGRADE": "1", "STNORESTART": "1"}
        env.pop("all_proxy", None)
        self.process = subprocess.Popen(
            [
                SYNCTHING,
                "serve",
                f"--home={self.home}",
                "--no-browser",
                "--no-restart",
                "--no-upgrade",
                "--skip-port-probing",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.get("/rest/system/ping") == {"ping": "pong"}:
                    return
            except (OSError, urllib.error.URLError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"syncthing {self.name} did not start:\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        path = self.home / "syncthing.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # -- REST ----------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: object = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.gui_port}{path}",
            data=data,
            method=method,
            headers={"X-API-Key": self.api_key, "Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=10) as response:
            raw = response.read()
        return json.loads(raw) if raw.strip() else None

    def get(self, path: str) -> object:
        return self.request("GET", path)

    def add_peer(self, other: Syncthing) -> None:
        """Introduce ``other`` with its static loopback address (PUT /rest/config/devices/{id})."""
        self.request(
            "PUT",
            f"/rest/config/devices/{other.device_id}",
            {
                "deviceID": other.device_id,
                "name": other.name,
                "addresses": [other.address],
                "autoAcceptFolders": False,
            },
        )

    def share_folder(self, peers: Iterable[Syncthing]) -> None:
        """Share ``self.folder`` as FOLDER_ID with ``peers`` (PUT /rest/config/folders/{id})."""
        devices = [{"deviceID": self.device_id}] + [{"deviceID": p.device_id} for p in peers]
        self.request(
            "PUT",
            f"/rest/config/folders/{FOLDER_ID}",
            {
                "id": FOLDER_ID,
                "label": "vauth",
                "path": str(self.folder),
                "type": "sendreceive",
                "devices": devices,
                "rescanIntervalS": 60,
                "fsWatcherEnabled": True,
                "fsWatcherDelayS": 1,
                "maxConflicts": 0,
            },
        )

    def scan(self, sub: str | None = None) -> None:
        """Ask for a rescan now (POST /rest/db/scan) instead of waiting for the watcher."""
        query = f"folder={FOLDER_ID}"
        if sub:
            query += "&sub=" + urllib.request.quote(sub)
        self.request("POST", f"/rest/db/scan?{query}")

    def connected(self, other: Syncthing) -> bool:
        answer = self.get("/rest/system/connections")
        assert isinstance(answer, dict)
        return bool(answer["connections"].get(other.device_id, {}).get("connected"))

    def folder_state(self) -> str:
        answer = self.get(f"/rest/db/status?folder={FOLDER_ID}")
        assert isinstance(answer, dict)
        return str(answer.get("state", ""))


def _set(parent: ET.Element, tag: str, text: str) -> None:
    element = parent.find(tag)
    if element is None:
        element = ET.SubElement(parent, tag)
    element.text = text


def wait_for(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.1) -> float:
    """Poll ``condition`` until true; returns the seconds it took, or fails saying ``what``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)
    return time.monotonic() - start


def wait_for_file(
    path: Path, timeout: float = 60.0, content: bytes | None = None, every: float = 0.05
) -> float:
    """Wait until ``path`` exists (with exactly ``content`` when given); seconds taken."""

    def arrived() -> bool:
        try:
            return content is None or path.read_bytes() == content
        except OSError:
            return False

    return wait_for(arrived, timeout, f"{path} to arrive", every)


class Cluster:
    """N Syncthing instances, all peers of each other, sharing FOLDER_ID."""

    def __init__(self, root: Path, names: Iterable[str]) -> None:
        self.nodes = [
            Syncthing(name, root / f"st-{name}", root / f"folder-{name}") for name in names
        ]

    def __getitem__(self, index: int) -> Syncthing:
        return self.nodes[index]

    def start(self) -> None:
        for node in self.nodes:
            node.generate()
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            others = [o for o in self.nodes if o is not node]
            for other in others:
                node.add_peer(other)
            node.share_folder(others)
        for node in self.nodes:
            for other in self.nodes:
                if other is not node:
                    wait_for(
                        lambda n=node, o=other: n.connected(o),  # type: ignore[misc]
                        60,
                        f"{node.name} to connect to {other.name}",
                        every=0.2,
                    )

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {n.name}\n{n.log_tail()}" for n in self.nodes)
