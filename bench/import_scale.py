"""Importing a large Bitwarden export (issue 22): 5,000 passkeys in a password-protected JSON
export (PBKDF2-SHA256, 600,000 iterations: what Bitwarden writes by default), imported into a
vault with the production key derivation. Target: under 20 s, and a peak memory under 300 MiB
beyond what opening the vault costs (its Argon2id, 256 MiB).

    python bench/import_scale.py                  # 5,000 passkeys, in process and by the CLI
    python bench/import_scale.py --passkeys 500   # quicker

Memory is the process's resident set from /proc: the peak (VmHWM) is reset through
/proc/self/clear_refs once the vault is open, so the import's peak is measured on its own and
compared with the resident set before it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.vault.foreign import (  # noqa: E402  (after the path is set)
    Passkey,
    bitwarden_item,
    bitwarden_passkey,
    bitwarden_plain,
    bitwarden_protected,
    dumps,
)
from vauth import VirtualAuthenticator  # noqa: E402
from vauth.vault import Vault  # noqa: E402

VAULT_PASSPHRASE = "bench vault passphrase"
FILE_PASSPHRASE = "bench file passphrase"
BITWARDEN_DEFAULT = {"kdfType": 0, "kdfIterations": 600_000}
TARGET_S, TARGET_MIB = 20.0, 300.0


def status(field: str, pid: str = "self") -> float:
    """A /proc/PID/status figure (VmRSS, VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def reset_peak(pid: str = "self") -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS


def export_file(count: int) -> bytes:
    items = [
        bitwarden_item(bitwarden_passkey(Passkey(rp_id=f"site{n}.example", user_name=f"user{n}")))
        for n in range(count)
    ]
    return dumps(bitwarden_protected(bitwarden_plain(*items), FILE_PASSPHRASE, BITWARDEN_DEFAULT))


def in_process(work: Path, data: bytes) -> dict[str, float]:
    path = work / "vault.db"
    Vault.open(path, VAULT_PASSPHRASE).close()  # the production Argon2id
    before_open = status("VmRSS")
    reset_peak()
    va = VirtualAuthenticator(vault=path, passphrase=VAULT_PASSPHRASE)
    opening = status("VmHWM") - before_open
    try:
        base = status("VmRSS")
        reset_peak()
        started = time.perf_counter()
        report = va.import_credentials(data, passphrase=FILE_PASSPHRASE)
        seconds = time.perf_counter() - started
        peak = status("VmHWM") - base
        assert not report.skipped, report.skipped[:3]
        return {"imported": len(report.imported), "s": seconds, "peak": peak, "open": opening}
    finally:
        va.close()


def by_cli(work: Path, file: Path) -> tuple[float, float, float]:
    """`vauth import` as a person runs it: with no daemon (opening the vault included), then
    into a running daemon (seconds, and the daemon's peak beyond its resident set before)."""
    env = {
        **os.environ,
        "HOME": str(work / "home"),
        "XDG_RUNTIME_DIR": str(work / "run"),
        "XDG_DATA_HOME": str(work / "data"),
        "XDG_CONFIG_HOME": str(work / "config"),
        "VAUTH_PASSPHRASE": VAULT_PASSPHRASE,
    }
    (work / "run").mkdir(parents=True)
    command = [sys.executable, "-m", "vauth.cli"]
    subprocess.run([*command, "init", "--json"], env=env, cwd=ROOT, check=True, capture_output=True)
    secret = work / "secret"
    secret.write_text(FILE_PASSPHRASE)
    importing = [*command, "import", str(file), "--file-passphrase-file", str(secret), "--json"]
    started = time.perf_counter()
    subprocess.run(importing, env=env, cwd=ROOT, check=True, capture_output=True)
    offline = time.perf_counter() - started

    shutil.rmtree(work / "data")  # a fresh vault for the daemon
    subprocess.run([*command, "init", "--json"], env=env, cwd=ROOT, check=True, capture_output=True)
    daemon = subprocess.Popen(
        [*command, "serve", "--no-http"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert daemon.stderr is not None
        for line in daemon.stderr:
            if "vauth: ready" in line:
                break
        pid = str(daemon.pid)
        base = status("VmRSS", pid)
        reset_peak(pid)
        started = time.perf_counter()
        subprocess.run(importing, env=env, cwd=ROOT, check=True, capture_output=True)
        online = time.perf_counter() - started
        return offline, online, status("VmHWM", pid) - base
    finally:
        daemon.terminate()
        daemon.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passkeys", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        made = time.perf_counter()
        data = export_file(args.passkeys)
        file = work / "bitwarden_export.json"
        file.write_bytes(data)
        print(
            f"a password-protected Bitwarden export of {args.passkeys} passkeys: "
            f"{len(data) / 2**20:.1f} MiB, made in {time.perf_counter() - made:.1f} s"
        )
        figures = in_process(work, data)
        print(f"opening the vault (Argon2id, 256 MiB): peak +{figures['open']:.0f} MiB")
        print(
            f"import in process: {figures['imported']} passkeys in {figures['s']:.1f} s, "
            f"peak +{figures['peak']:.0f} MiB beyond the open vault"
        )
        offline, online, daemon_peak = by_cli(work / "cli", file)
        print(f"`vauth import` with no daemon (opening the vault included): {offline:.1f} s")
        print(
            f"`vauth import` into a running daemon: {online:.1f} s, the daemon's peak "
            f"+{daemon_peak:.0f} MiB"
        )
    met = (
        max(figures["s"], offline, online) < TARGET_S
        and max(figures["peak"], daemon_peak) < TARGET_MIB
    )
    print(
        f"targets: under {TARGET_S:.0f} s and {TARGET_MIB:.0f} MiB: " + ("PASS" if met else "MISS")
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
