"""WebAuthnClient: what a browser does between a page and one CTAP2 authenticator (WebAuthn L3
sections 5.1.3 "Create a New Credential" and 5.1.4 "Use an Existing Credential", with the CTAP 2.1
mapping of section 6.3 of WebAuthn and 6.1/6.2 of CTAP).

Choices where a browser has a user interface or a timer and this in-process client has neither:

- ``timeout`` is parsed and kept but no timer runs: the authenticator's presence port is where a
  person answers or gives up, and it may time out on its own.
- A discoverable getAssertion that finds several credentials returns the first one (the most
  recent); getNextAssertion is not called. Account choice belongs to the presence/selection UI,
  which the authenticator asks before it signs.
- allowCredentials / excludeCredentials longer than maxCredentialCountInList are sent in batches,
  each first probed silently (getAssertion with ``up: false``); the real request then carries the
  batch that matched (Chromium and python-fido2 do the same).
- Attestation: see :func:`vauth.webauthn.attestation.convey`.
- Extensions (credProtect, prf, largeBlob, credBlob, minPinLength): see
  :mod:`vauth.webauthn.extensions`.
  prf.evalByCredential with several allowCredentials probes them one by one first, so that the
  request carries the found credential and its own salts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vauth.ctap.auth_data import AuthenticatorData
from vauth.ctap.authenticator import Authenticator
from vauth.ctap.messages.client_pin import Permission
from vauth.ctap.messages.command import Command
from vauth.ctap.messages.get_assertion import GetAssertionRequest, GetAssertionResponse
from vauth.ctap.messages.get_info import GetInfoResponse
from vauth.ctap.messages.make_credential import MakeCredentialRequest, MakeCredentialResponse
from vauth.ctap.status import CtapStatus
from vauth.webauthn import client_data
from vauth.webauthn.attestation import AttestationResult, convey
from vauth.webauthn.ctap_messages import (
    AuthenticatorInfo,
    Channel,
    Process,
    call,
    channel_for,
    options_map,
    status_of,
)
from vauth.webauthn.errors import ClientFailure, WebAuthnError, failed
from vauth.webauthn.extensions import (
    check_creation,
    check_request,
    creation_plan,
    needs_credential_choice,
    needs_large_blob_write_token,
    request_plan,
)
from vauth.webauthn.options import (
    PUBLIC_KEY,
    AuthenticatorSelection,
    CreationOptions,
    CredentialDescriptor,
    CredentialParameters,
    RequestOptions,
    parse_creation_options,
    parse_request_options,
)
from vauth.webauthn.origin import Origin, parse_origin, resolve_rp_id
from vauth.webauthn.pin import PinSession
from vauth.webauthn.responses import authentication_response_json, registration_response_json

# WebAuthn L3 5.1.3 step 10: an empty pubKeyCredParams means ES256 and RS256.
DEFAULT_PUB_KEY_CRED_PARAMS = ((PUBLIC_KEY, -7), (PUBLIC_KEY, -257))


class WebAuthnClient:
    """navigator.credentials.create()/get() for the public-key type.

    ``authenticator`` is a ``process(bytes) -> bytes`` coroutine function (CTAP2 messages, as a
    transport carries them), a ``vauth.ctap.Authenticator`` in this process (typed requests and
    responses go straight in and out, nothing encoded or decoded) or any Channel.
    """

    def __init__(
        self,
        authenticator: Process | Channel | Authenticator,
        *,
        transport: str = "usb",
        has_resident_key: bool = True,
        has_user_verification: bool = True,
        anonymize_aaguid: bool = False,
        pin: str | None = None,
    ) -> None:
        self._channel = channel_for(authenticator)
        self.pin = pin
        self.display_name: str | None = None
        self.transport = transport
        self.has_resident_key = has_resident_key
        self.has_user_verification = has_user_verification
        self.anonymize_aaguid = anonymize_aaguid
        self._info: AuthenticatorInfo | None = None
        self._info_version = 0

    @property
    def authenticator_attachment(self) -> str:
        return "platform" if self.transport == "internal" else "cross-platform"

    def forget_info(self) -> None:
        """Read getInfo again next time (after a PIN or configuration change)."""
        self._info = None

    async def set_pin(self, pin: str) -> None:
        """Set the authenticator's PIN, or change it from the one this client holds."""
        info = await self.info()
        session = PinSession(self._channel, info.pin_uv_auth_protocols)
        if info.options.get("clientPin"):
            if self.pin is None:
                raise WebAuthnError(
                    "NotAllowedError", "a PIN is set and the current one is unknown"
                )
            await session.change_pin(self.pin, pin)
        else:
            await session.set_pin(pin)
        self.pin = pin
        self.forget_info()

    async def info(self) -> AuthenticatorInfo:
        """authenticatorGetInfo, asked once and kept until the authenticator's state version
        says it may have changed (a PIN set or changed, a reset, a new policy), by whatever path
        that change came."""
        kept = self._kept_info()
        if kept is not None:
            return kept
        version = self._channel.info_version
        info = await call(self._channel, Command.GET_INFO, None, GetInfoResponse, "getInfo")
        self._info, self._info_version = AuthenticatorInfo.of(info), version
        return self._info

    def _kept_info(self) -> AuthenticatorInfo | None:
        """The getInfo kept, while still current (read without a coroutine: every ceremony
        starts here)."""
        if self._info is not None and self._channel.info_version == self._info_version:
            return self._info
        return None

    # -- create() ---------------------------------------------------------------------------

    async def create(
        self,
        options: dict[str, Any] | str | CreationOptions,
        origin: str,
        *,
        top_origin: str | None = None,
    ) -> dict[str, Any]:
        """navigator.credentials.create({publicKey}) -> RegistrationResponseJSON."""
        opts = parse_creation_options(options)
        caller = parse_origin(origin)
        rp_id = resolve_rp_id(opts.rp.id, caller)
        algorithms = _credential_parameters(opts.pub_key_cred_params)
        data = self._client_data(client_data.CREATE, opts.challenge, caller, top_origin)
        client_data_hash = client_data.client_data_hash(data)

        info = await self.info()
        selection = opts.authenticator_selection
        self._check_attachment(selection)
        rk = self._resident_key(selection, info)
        check_creation(opts.extensions, info, rk)
        verification = await self._verification(
            selection.user_verification,
            info,
            rp_id,
            _MC_GA if opts.exclude_credentials else _MC,
            rk=rk,
        )
        exclude = _usable(opts.exclude_credentials, info)
        exclude = await self._fit(rp_id, client_data_hash, exclude, info) or ()
        plan = await creation_plan(opts.extensions, info, self._channel, rk)

        request = MakeCredentialRequest(
            client_data_hash=client_data_hash,
            rp_id=rp_id,
            rp_name=opts.rp.name,
            user_id=opts.user.id,
            user_name=opts.user.name,
            user_display_name=opts.user.display_name,
            pub_key_cred_params=tuple(algorithms),
            exclude_list=tuple((c.type, c.id) for c in exclude),
            extensions=plan.inputs or {},
            options=options_map(rk=rk, uv=verification.uv_option) or {},
            **verification.params(client_data_hash),
        )
        made = await call(
            self._channel, Command.MAKE_CREDENTIAL, request, MakeCredentialResponse, "create"
        )
        fmt, auth_data, att_stmt = made.fmt, made.auth_data, made.att_stmt
        try:
            attested, outputs = AuthenticatorData(auth_data).attested_credential_data()
        except Exception:  # a malformed authenticator response, whatever the parser raised
            attested, outputs = None, {}
        if attested is None:
            raise failed(ClientFailure.MALFORMED_RESPONSE, "create: no attested credential data")

        result = convey(
            AttestationResult(fmt, auth_data, att_stmt),
            attested.aaguid,
            opts.attestation,
            self.anonymize_aaguid,
        )
        extension_results = plan.outputs(outputs, made)
        if opts.extensions.cred_props:
            extension_results["credProps"] = {} if _rk_unknown(selection, info, rk) else {"rk": rk}
            if self.display_name:  # WebAuthn L3: the authenticator's name, chosen by its user
                extension_results["credProps"]["authenticatorDisplayName"] = self.display_name
        return registration_response_json(
            attested.credential_id,
            data,
            result,
            attested.credential_public_key,
            [self.transport],
            self.authenticator_attachment,
            _ordered(extension_results),
        )

    # -- get() ------------------------------------------------------------------------------

    async def get(
        self,
        options: dict[str, Any] | str | RequestOptions,
        origin: str,
        *,
        top_origin: str | None = None,
    ) -> dict[str, Any]:
        """navigator.credentials.get({publicKey}) -> AuthenticationResponseJSON."""
        opts = parse_request_options(options)
        caller = parse_origin(origin)
        rp_id = resolve_rp_id(opts.rp_id, caller)
        data = self._client_data(client_data.GET, opts.challenge, caller, top_origin)
        client_data_hash = client_data.client_data_hash(data)
        check_request(opts.extensions, opts.allow_credentials)

        info = self._kept_info() or await self.info()
        lbw = needs_large_blob_write_token(opts.extensions, info)
        verification = await self._verification(
            opts.user_verification,
            info,
            rp_id,
            _GA_LBW if lbw else _GA,
            token_needed=lbw,
        )
        allow = _usable(opts.allow_credentials, info)
        if opts.allow_credentials and not allow:
            raise failed(ClientFailure.NO_USABLE_CREDENTIAL, "get")
        if len(allow) > info.max_credential_count_in_list:  # more than one request can carry
            fitted = await self._fit(rp_id, client_data_hash, allow, info)
            allow = fitted or allow[: info.max_credential_count_in_list]  # none: the first batch
        if needs_credential_choice(opts.extensions, allow):  # prf.evalByCredential
            allow = await self._probe(rp_id, client_data_hash, _batches(allow, 1)) or allow
        plan = await request_plan(opts.extensions, info, self._channel, allow)

        request = GetAssertionRequest(
            rp_id=rp_id,
            client_data_hash=client_data_hash,
            allow_list=tuple((c.type, c.id) for c in allow),
            extensions=plan.inputs or {},
            options=options_map(uv=verification.uv_option) or {},
            **verification.params(client_data_hash),
        )
        response = await call(
            self._channel, Command.GET_ASSERTION, request, GetAssertionResponse, "get"
        )
        credential_id = _assertion_credential_id(response, allow)
        auth_data, signature = response.auth_data, response.signature
        user_handle = response.user.get("id") if response.user is not None else None
        if not isinstance(user_handle, bytes) or not user_handle:
            user_handle = None
        try:
            _, outputs = AuthenticatorData(auth_data).attested_credential_data()
        except Exception:  # a malformed authenticator response, whatever the parser raised
            raise failed(ClientFailure.MALFORMED_RESPONSE, "get: authenticator data") from None
        extension_results = (
            await plan.outputs(outputs, response, verification.authorize) if plan.work else {}
        )
        # numberOfCredentials (0x05) > 1: the first, most recent credential is used (see above).
        return authentication_response_json(
            credential_id,
            data,
            auth_data,
            signature,
            user_handle,
            self.authenticator_attachment,
            _ordered(extension_results),
        )

    # -- shared steps -----------------------------------------------------------------------

    @staticmethod
    def _client_data(kind: str, challenge: bytes, caller: Origin, top_origin: str | None) -> bytes:
        origin = caller.serialize()
        top = parse_origin(top_origin).serialize() if top_origin is not None else None
        cross = top if top is not None and top != origin else None
        return client_data.client_data_json(kind, challenge, origin, cross)

    def _check_attachment(self, selection: AuthenticatorSelection) -> None:
        wanted = selection.authenticator_attachment
        if wanted is not None and wanted != self.authenticator_attachment:
            raise failed(
                ClientFailure.WRONG_ATTACHMENT,
                f"create: {wanted} asked for, {self.authenticator_attachment} here",
            )

    def _resident_key(self, selection: AuthenticatorSelection, info: AuthenticatorInfo) -> bool:
        supported = self.has_resident_key and info.options.get("rk", False) is True
        if selection.resident_key == "required":
            if not supported:
                raise failed(ClientFailure.NO_RESIDENT_KEYS, "create")
            return True
        return selection.resident_key == "preferred" and supported

    async def _verification(
        self,
        requirement: str,
        info: AuthenticatorInfo,
        rp_id: str,
        permissions: int,
        rk: bool | None = None,
        token_needed: bool = False,
    ) -> _Verification:
        """Whether and how to verify the user, as a browser decides (CTAP 2.1 section 6.1.1 and
        6.2.1): built-in UV through the uv option, else a pinUvAuthToken from the PIN.
        ``rk`` is given for makeCredential: a protected authenticator wants UV for discoverable
        credentials (and for all of them without makeCredUvNotRqd). ``token_needed``: a later
        command wants a pinUvAuthToken (a largeBlob write), so one is obtained even with
        built-in UV, if the authenticator is protected at all."""
        options = info.options
        builtin = self.has_user_verification and options.get("uv") is True
        pin_set = options.get("clientPin") is True
        configured = builtin or pin_set
        token_needed = token_needed and configured and options.get("pinUvAuthToken") is True
        needed = (
            token_needed
            or requirement == "required"
            or (requirement == "preferred" and configured)
            or options.get("alwaysUv") is True
            or (rk is not None and configured and (rk or not options.get("makeCredUvNotRqd")))
        )
        if not needed:
            return _NO_VERIFICATION
        if builtin and not token_needed:
            return _BUILTIN_UV
        if builtin:
            session = PinSession(self._channel, info.pin_uv_auth_protocols)
            token = await session.uv_token(permissions, rp_id)
            return _Verification(session=session, token=token)
        if not pin_set:
            raise failed(ClientFailure.NO_USER_VERIFICATION, "user verification")
        if self.pin is None:
            raise failed(ClientFailure.PIN_UNAVAILABLE, "none was given")
        session = PinSession(self._channel, info.pin_uv_auth_protocols)
        token_permissions = permissions if options.get("pinUvAuthToken") else None
        token = await session.token(self.pin, token_permissions, rp_id)
        return _Verification(session=session, token=token)

    async def _fit(
        self,
        rp_id: str,
        client_data_hash: bytes,
        credentials: Sequence[CredentialDescriptor],
        info: AuthenticatorInfo,
    ) -> Sequence[CredentialDescriptor] | None:
        """``credentials`` if one request can carry them all, else the first batch of
        maxCredentialCountInList that holds a credential of this authenticator (None if none
        does)."""
        size = info.max_credential_count_in_list
        if len(credentials) <= size:
            return credentials
        return await self._probe(rp_id, client_data_hash, _batches(credentials, size))

    async def _probe(
        self,
        rp_id: str,
        client_data_hash: bytes,
        batches: list[Sequence[CredentialDescriptor]],
    ) -> Sequence[CredentialDescriptor] | None:
        """The first batch holding a credential of this authenticator, found silently."""
        for batch in batches:
            status = await status_of(
                self._channel,
                Command.GET_ASSERTION,
                GetAssertionRequest(
                    rp_id=rp_id,
                    client_data_hash=client_data_hash,
                    allow_list=tuple((c.type, c.id) for c in batch),
                    options={"up": False},
                ),
                GetAssertionResponse,
            )
            if status is CtapStatus.OK:
                return batch
        return None


@dataclass(frozen=True, slots=True)
class _Verification:
    uv_option: bool = False  # send "uv": true: built-in UV
    session: PinSession | None = None  # or a pinUvAuthToken obtained with the PIN
    token: bytes | None = None

    def params(self, client_data_hash: bytes) -> dict[str, Any]:
        """pinUvAuthParam and pinUvAuthProtocol, as request fields (none without a token)."""
        authorized = self.authorize(client_data_hash)
        if authorized is None:
            return {}
        pin_uv_auth_param, pin_uv_auth_protocol = authorized
        return {
            "pin_uv_auth_param": pin_uv_auth_param,
            "pin_uv_auth_protocol": pin_uv_auth_protocol,
        }

    def authorize(self, message: bytes) -> tuple[bytes, int] | None:
        """pinUvAuthParam and pinUvAuthProtocol for a command other than the ceremony's own
        (largeBlobs set), or None without a pinUvAuthToken."""
        if self.session is None or self.token is None:
            return None
        return self.session.authenticate(self.token, message), self.session.protocol.version


_NO_VERIFICATION = _Verification()
_BUILTIN_UV = _Verification(uv_option=True)
# The permissions a ceremony asks for, computed once (IntFlag arithmetic is slow).
_MC, _MC_GA = Permission.MC, Permission.MC | Permission.GA
_GA, _GA_LBW = Permission.GA, Permission.GA | Permission.LBW


def _credential_parameters(params: tuple[CredentialParameters, ...]) -> list[tuple[str, int]]:
    """WebAuthn L3 5.1.3 step 10: unknown types are skipped; nothing left is NotSupportedError."""
    if not params:
        return list(DEFAULT_PUB_KEY_CRED_PARAMS)
    chosen = [(p.type, p.alg) for p in params if p.type == PUBLIC_KEY]
    if not chosen:
        raise WebAuthnError("NotSupportedError", "create: no supported pubKeyCredParams type")
    return chosen


def _ordered(results: dict[str, Any]) -> dict[str, Any]:
    """clientExtensionResults in the order WebIDL gives a dictionary's members (lexicographic),
    so that json.dumps matches JSON.stringify."""
    return dict(sorted(results.items()))


def _usable(
    credentials: Sequence[CredentialDescriptor], info: AuthenticatorInfo
) -> Sequence[CredentialDescriptor]:
    """Descriptors of the public-key type whose ID this authenticator could have issued."""
    limit = info.max_credential_id_length
    return [
        c for c in credentials if c.type == PUBLIC_KEY and (limit is None or len(c.id) <= limit)
    ]


def _batches(
    credentials: Sequence[CredentialDescriptor], size: int
) -> list[Sequence[CredentialDescriptor]]:
    return [credentials[i : i + size] for i in range(0, len(credentials), size)]


def _assertion_credential_id(
    response: GetAssertionResponse, allow: Sequence[CredentialDescriptor]
) -> bytes:
    """The credential of an assertion; CTAP may leave it out when the allowList had one entry
    (read back as empty)."""
    credential_id = response.credential_id
    if not credential_id and len(allow) == 1:
        credential_id = allow[0].id
    if not credential_id:
        raise failed(ClientFailure.MALFORMED_RESPONSE, "get: the assertion names no credential")
    if allow and credential_id not in {c.id for c in allow}:
        raise failed(ClientFailure.CREDENTIAL_NOT_ALLOWED, "get")
    return credential_id


def _rk_unknown(selection: AuthenticatorSelection, info: AuthenticatorInfo, rk: bool) -> bool:
    """credProps.rk is left out when the client cannot know it (WebAuthn L3 10.1.4: "MAY be
    omitted"), as Chromium does: residentKey "discouraged" to a CTAP 2.0 authenticator with
    resident keys, which may make a discoverable credential unasked (CTAP 2.1 added
    makeCredUvNotRqd, so a 2.1 authenticator does what it is told)."""
    return (
        not rk
        and selection.resident_key == "discouraged"
        and info.options.get("rk", False) is True
        and "FIDO_2_1" not in info.versions
    )
