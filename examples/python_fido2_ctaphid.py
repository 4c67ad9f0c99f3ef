"""Recipe: a non-browser client (python-fido2) speaking CTAPHID to vauth, no hardware needed.

python-fido2's ``CtapHidDevice`` talks 64-byte HID reports to vauth's CTAPHID transport over an
in-memory loopback (``vauth.testing.doubles.open_hid_device``): the same framing a USB security key
uses (and ``vauth serve --uhid`` puts on a real /dev/hidraw). Its ``Fido2Client`` registers and
signs in; ``Fido2Server`` judges both, and a relying party's negative path is shown with CDP's
response override bits (a bogus signature must be refused).

    python examples/python_fido2_ctaphid.py
"""

from __future__ import annotations

from fido2.client import DefaultClientDataCollector, Fido2Client
from fido2.server import Fido2Server
from fido2.webauthn import (
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    ResidentKeyRequirement,
)

from vauth import VirtualAuthenticator
from vauth.testing.doubles import open_hid_device

RP = PublicKeyCredentialRpEntity(id="example.com", name="Example")
USER = PublicKeyCredentialUserEntity(id=b"user-1", name="alice", display_name="Alice")


def main() -> None:
    authenticator = VirtualAuthenticator(has_prf=True)  # CDP-style options work here too
    device, connection = open_hid_device(authenticator)
    try:
        client = Fido2Client(device, DefaultClientDataCollector("https://example.com"))
        server = Fido2Server(RP)

        options, state = server.register_begin(
            USER, resident_key_requirement=ResidentKeyRequirement.REQUIRED
        )
        auth_data = server.register_complete(state, client.make_credential(options.public_key))
        credential = auth_data.credential_data
        assert credential is not None
        print(f"registered over CTAPHID: {credential.credential_id.hex()[:16]}...")

        options, state = server.authenticate_begin()
        response = client.get_assertion(options.public_key).get_response(0)
        server.authenticate_complete(state, [credential], response)
        print("signed in over CTAPHID: the server verified the assertion")

        authenticator.set_response_override_bits(is_bogus_signature=True)
        options, state = server.authenticate_begin()
        response = client.get_assertion(options.public_key).get_response(0)
        try:
            server.authenticate_complete(state, [credential], response)
        except ValueError:
            print("a bogus signature was refused, as a relying party must")
        else:
            raise SystemExit("the server accepted a bogus signature")
    finally:
        connection.close()
        authenticator.close()


if __name__ == "__main__":
    main()
