"""The ``vauth`` command."""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Sequence

from vauth import __version__
from vauth.ctap.attestation import AttestationMode
from vauth.virtual import VirtualAuthenticator
from vauth.webauthn.errors import WebAuthnError


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _demo(args: argparse.Namespace) -> int:
    """Register and sign in once with an in-memory authenticator, printing both responses."""
    origin = args.origin
    rp_id = args.rp_id or origin.split("://", 1)[-1].split(":")[0]
    with VirtualAuthenticator(attestation=args.attestation) as va:
        creation = {
            "rp": {"id": rp_id, "name": rp_id},
            "user": {"id": _b64url(os.urandom(16)), "name": "demo", "displayName": "Demo User"},
            "challenge": _b64url(os.urandom(32)),
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
            "authenticatorSelection": {"residentKey": "required", "userVerification": "required"},
            "attestation": "none" if args.attestation == "none" else "direct",
            "extensions": {"credProps": True},
        }
        try:
            registration = va.create(creation, origin)
            request = {
                "challenge": _b64url(os.urandom(32)),
                "rpId": rp_id,
                "userVerification": "required",
            }
            authentication = va.get(request, origin)
        except WebAuthnError as exc:
            print(f"vauth: {exc.name}: {exc.message}", file=sys.stderr)
            return 1
        print(
            json.dumps({"registration": registration, "authentication": authentication}, indent=2)
        )
    return 0


def _ca(args: argparse.Namespace) -> int:
    """Print the attestation CA (PEM) of a seeded tester authenticator."""
    with VirtualAuthenticator(attestation="packed", seed=args.seed) as va:
        sys.stdout.write(va.attestation_ca_pem())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vauth", description=__doc__)
    parser.add_argument("--version", action="version", version=f"vauth {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run one registration and one sign-in in process")
    demo.add_argument("--origin", default="https://example.com")
    demo.add_argument("--rp-id", default=None)
    demo.add_argument("--attestation", default="none", choices=[m.value for m in AttestationMode])
    demo.set_defaults(run=_demo)
    ca = commands.add_parser("ca", help="print a seeded authenticator's attestation CA (PEM)")
    ca.add_argument("--seed", default="vauth")
    ca.set_defaults(run=_ca)
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
