"""The testing kit: what vauth's tests, and a relying party's, drive vauth with.

    virtual.py        VirtualAuthenticator: a synchronous in-memory authenticator for scripts
                      and tests, a thin wrapper over a TesterDevice
    doubles.py        test doubles and the python-fido2 adapters (VauthCtapDevice, the CTAPHID
                      loopback, a fake clock, scripted presence and keys)
    harness.py        VauthDaemon and DaemonFactory: an ephemeral daemon per test, forked warm
    pytest_plugin.py  the pytest fixtures (entry point pytest11): vauth_page, vauth_daemon, ...
    browsers/         where the installed extension is; firefox-esr over WebDriver BiDi

The doubles are importable from here (``from vauth.testing import VauthCtapDevice``) and load on
first use (PEP 562): pytest loads the plugin, and so this package, in every run, and the
doubles need python-fido2, a test extra.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vauth.testing.doubles import (
        AutoPresence,
        DenyPresence,
        FakeClock,
        HidLoopbackConnection,
        InlinePinHasher,
        InMemoryStore,
        ScriptedKeySource,
        ScriptedPresence,
        VauthCtapDevice,
        open_hid_device,
    )

__all__ = [
    "AutoPresence",
    "DenyPresence",
    "FakeClock",
    "HidLoopbackConnection",
    "InMemoryStore",
    "InlinePinHasher",
    "ScriptedKeySource",
    "ScriptedPresence",
    "VauthCtapDevice",
    "open_hid_device",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'vauth.testing' has no attribute {name!r}")
    value = getattr(import_module("vauth.testing.doubles"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
