// The one place for vauth's extension protocol: the native host's name, the daemon's action
// names, the error codes every hop may answer, and the message types between the extension's
// parts. tests/extension/test_protocol.py checks this file against the Python side and the copies
// kept in page/page.js and content/bridge.js (content scripts cannot import ES modules).

export const HOST_NAME = "dev.vauth.host";

// vauth.daemon.actions.ACTIONS, plus the native host's own action.
export const ACTIONS = Object.freeze({
  STATUS: "status",
  UNLOCK: "unlock",
  LOCK: "lock",
  CREATE: "create",
  GET: "get",
  CTAP: "ctap",
  CANCEL: "cancel", // a page's ceremony called off (it aborted, or went away)
  ATTESTATION_CA: "attestation.ca",
  PROMPTS_WAIT: "prompts.wait",
  PROMPTS_ANSWER: "prompts.answer",
  RP_ID_CHECK: "rpId.check",
  CREDENTIALS_LIST: "credentials.list",
  CREDENTIALS_SHOW: "credentials.show",
  CREDENTIALS_RENAME: "credentials.rename",
  CREDENTIALS_DELETE: "credentials.delete",
  TRASH_LIST: "trash.list",
  TRASH_RESTORE: "trash.restore",
  TRASH_EMPTY: "trash.empty",
  AUTHENTICATOR_NAME: "authenticator.name",
  AUDIT: "audit",
  EXPORT: "export", // params.vaultPassphrase is required (native_host/PROTOCOL.md)
  EXPORT_NOTICE: "export.notice",
  IMPORT: "import",
  PASSPHRASE: "passphrase",
  RECOVER: "recover",
  RECOVERY_KEY_NEW: "recoveryKey.new",
  BACKUP: "backup",
  SYNC_STATUS: "sync.status",
  SYNC_INIT: "sync.init",
  SYNC_JOIN: "sync.join",
  SYNC_PENDING: "sync.pending",
  SYNC_APPROVE: "sync.approve",
  SYNC_DEVICES: "sync.devices",
  SYNC_REMOVE: "sync.remove",
  SYNC_LEAVE: "sync.leave",
  SYNC_DEFAULT: "sync.default",
  SIGNAL_UNKNOWN_CREDENTIAL: "signal.unknownCredential",
  SIGNAL_ALL_ACCEPTED_CREDENTIALS: "signal.allAcceptedCredentials",
  SIGNAL_CURRENT_USER_DETAILS: "signal.currentUserDetails",
  HOST_HELLO: "host.hello", // {version, daemon, command: vauth as typed here, startCommand}
});

// What extension pages (popup, options, ceremony window) may ask the daemon directly. Ceremonies
// (create/get) and signals only ever start from a web page, with the origin taken from `sender`.
export const UI_ACTIONS = Object.freeze([
  ACTIONS.STATUS, ACTIONS.UNLOCK, ACTIONS.LOCK, ACTIONS.PROMPTS_WAIT,
  ACTIONS.CREDENTIALS_LIST, ACTIONS.CREDENTIALS_SHOW, ACTIONS.CREDENTIALS_RENAME,
  ACTIONS.CREDENTIALS_DELETE, ACTIONS.TRASH_LIST, ACTIONS.TRASH_RESTORE, ACTIONS.TRASH_EMPTY,
  ACTIONS.AUTHENTICATOR_NAME, ACTIONS.AUDIT, ACTIONS.EXPORT, ACTIONS.EXPORT_NOTICE,
  ACTIONS.IMPORT, ACTIONS.PASSPHRASE, ACTIONS.RECOVER, ACTIONS.RECOVERY_KEY_NEW, ACTIONS.HOST_HELLO,
  ACTIONS.SYNC_STATUS, ACTIONS.SYNC_PENDING, ACTIONS.SYNC_APPROVE, ACTIONS.SYNC_DEVICES,
  ACTIONS.SYNC_REMOVE, ACTIONS.SYNC_DEFAULT,
]);

// Actions that change the vault: the service worker adds `via` (which extension page asked),
// and the daemon's audit log says so.
export const VAULT_CHANGES = Object.freeze([
  ACTIONS.CREDENTIALS_RENAME, ACTIONS.CREDENTIALS_DELETE, ACTIONS.TRASH_RESTORE,
  ACTIONS.TRASH_EMPTY, ACTIONS.IMPORT,
]);

// Error codes. DOMException names (WebAuthn) reach the page as `new DOMException(msg, name)`.
export const DOM_ERRORS = Object.freeze({
  NOT_ALLOWED: "NotAllowedError",
  INVALID_STATE: "InvalidStateError",
  SECURITY: "SecurityError",
  NOT_SUPPORTED: "NotSupportedError",
  TYPE: "TypeError",
  CONSTRAINT: "ConstraintError",
  ABORT: "AbortError",
  UNKNOWN: "UnknownError",
  ENCODING: "EncodingError",
  SYNTAX: "SyntaxError",
});

export const ERRORS = Object.freeze({
  // the daemon (vauth/app/service.py, vauth/transport/*.py)
  VAULT_LOCKED: "vault_locked",
  WRONG_PASSPHRASE: "wrong_passphrase",
  VAULT_ERROR: "vault_error",
  SYNC_ERROR: "sync_error",
  STOPPING: "stopping", // the daemon stopped while a ceremony waited for the person
  NO_VAULT: "no vault",
  INVALID_ARGUMENT: "invalid argument",
  NO_SUCH_CREDENTIAL: "no such credential",
  NO_SUCH_PROMPT: "no such prompt",
  NO_SUCH_AUTHENTICATOR: "no such authenticator",
  UNSUPPORTED_OPERATION: "unsupported operation",
  UNKNOWN_ACTION: "unknown_action",
  INTERNAL: "internal",
  FORBIDDEN: "forbidden",
  // the native host
  DAEMON_UNAVAILABLE: "daemon_unavailable", // error.startCommand: the command that starts it here
  FORBIDDEN_ORIGIN: "forbidden_origin",
  BAD_MESSAGE: "bad_message",
  // the extension itself
  HOST_UNAVAILABLE: "host_unavailable", // no native host installed, or it died
  TIMEOUT: "timeout",
  ...DOM_ERRORS,
});

// What a page gets for each code a ceremony can end with: the DOMException name (the one
// table, vauth/webauthn/errors.py PAGE_ERRORS; a test keeps the two equal). As in Chromium, a
// page learns nothing of vauth's own trouble: NotAllowedError.
const NOT_ALLOWED_CODES = [
  ERRORS.VAULT_LOCKED, ERRORS.WRONG_PASSPHRASE, ERRORS.VAULT_ERROR, ERRORS.SYNC_ERROR, ERRORS.NO_VAULT,
  ERRORS.INVALID_ARGUMENT, ERRORS.NO_SUCH_CREDENTIAL, ERRORS.NO_SUCH_PROMPT, ERRORS.NO_SUCH_AUTHENTICATOR,
  ERRORS.UNSUPPORTED_OPERATION, ERRORS.UNKNOWN_ACTION, ERRORS.INTERNAL, ERRORS.FORBIDDEN,
  ERRORS.DAEMON_UNAVAILABLE, ERRORS.FORBIDDEN_ORIGIN, ERRORS.BAD_MESSAGE, ERRORS.HOST_UNAVAILABLE,
  ERRORS.TIMEOUT, ERRORS.STOPPING, DOM_ERRORS.UNKNOWN, DOM_ERRORS.CONSTRAINT,
];
export const PAGE_ERRORS = Object.freeze(Object.fromEntries([
  ...Object.values(DOM_ERRORS)
    .filter((name) => name !== DOM_ERRORS.UNKNOWN && name !== DOM_ERRORS.CONSTRAINT)
    .map((name) => [name, name]),
  ...NOT_ALLOWED_CODES.map((code) => [code, DOM_ERRORS.NOT_ALLOWED]),
]));
// The browser's own sentences for the names it always words the same way (Chromium's
// credential_manager_type_converters.cc; Firefox's dom/base/domerr.msg); others keep theirs.
export const PAGE_ERROR_MESSAGES = Object.freeze({
  chromium: Object.freeze({
    [DOM_ERRORS.NOT_ALLOWED]: "The operation either timed out or was not allowed. See: https://www.w3.org/TR/webauthn-2/#sctn-privacy-considerations-client.",
    [DOM_ERRORS.INVALID_STATE]: "The user attempted to register an authenticator that contains one of the credentials already registered with the relying party.",
  }),
  firefox: Object.freeze({
    [DOM_ERRORS.NOT_ALLOWED]: "The request is not allowed by the user agent or the platform in the current context, possibly because the user denied permission.",
    [DOM_ERRORS.INVALID_STATE]: "An attempt was made to use an object that is not, or is no longer, usable",
  }),
});

// Page script (MAIN world) <-> bridge (ISOLATED world). Copied in page/page.js and
// content/bridge.js between the `protocol:page-messages` markers.
export const PAGE_MESSAGES = Object.freeze({
  HELLO: "vauth:hello",
  BRIDGE_READY: "vauth:bridge-ready",
  REQUEST: "vauth:request",
  CANCEL: "vauth:cancel",
  RESPONSE: "vauth:response",
});

// Operations the page script asks for (the `op` of a PAGE_MESSAGES.REQUEST).
export const PAGE_OPS = Object.freeze({
  CREATE: "create",
  GET: "get",
  MODE: "mode",
  SIGNAL_UNKNOWN_CREDENTIAL: "signalUnknownCredential",
  SIGNAL_ALL_ACCEPTED_CREDENTIALS: "signalAllAcceptedCredentials",
  SIGNAL_CURRENT_USER_DETAILS: "signalCurrentUserDetails",
  AVAILABLE: "available", // is vauth reachable? (isUserVerifyingPlatformAuthenticatorAvailable)
  HANDBACK: "handback", // proxy mode: the person chose another authenticator; let go of the proxy
  HANDBACK_DONE: "handbackDone", // ... the browser's own call has settled: take the proxy back
});

// Proxy mode: the error a proxied request ends with when the person chooses another
// authenticator. The page script (in every frame) recognises it and asks the browser again.
export const PROXY = Object.freeze({
  HANDBACK_ERROR: "NotAllowedError",
  HANDBACK_MESSAGE: "vauth handed this request back to the browser.",
});

// Messages to the service worker: its one routing table has a handler for each.
export const MSG = Object.freeze({
  // from a bridge, over a runtime port named PORTS.PAGE
  PAGE_REQUEST: "page.request",
  PAGE_CANCEL: "page.cancel",
  // from extension pages (runtime.sendMessage)
  DAEMON: "daemon",
  SETTINGS_GET: "settings.get",
  SETTINGS_SET: "settings.set",
  PROXY_GET: "proxy.get", // the popup: is proxy mode on, attached, or held by another extension?
  PROXY_SET: "proxy.set", // the popup's switch
  CEREMONY_INFO: "ceremony.info",
  CEREMONY_ANSWER: "ceremony.answer",
  CEREMONY_FALLBACK: "ceremony.fallback",
  CEREMONY_CANCEL: "ceremony.cancel",
  CEREMONY_UNLOCK: "ceremony.unlock",
  CEREMONY_RETRY: "ceremony.retry",
  // from the ceremony window, over a runtime port named PORTS.CEREMONY
  CEREMONY_ATTACH: "ceremony.attach",
  // from the service worker to a ceremony window
  CEREMONY_STATE: "ceremony.state",
});

// (WATCH: from the service worker to a document's bridge, open while a request of that
// document is being answered, so that its closing says the document went away)
export const PORTS = Object.freeze({ PAGE: "vauth.page", CEREMONY: "vauth.ceremony", WATCH: "vauth.watch" });

// Where a site's ceremonies go: vauth, the browser's own authenticators, or ask each time.
export const CHOICES = Object.freeze({ VAUTH: "vauth", BROWSER: "browser", ASK: "ask" });
export const DEFAULT_CHOICE = CHOICES.ASK;

// How long a ceremony window that says why its request ended (the daemon stopped) stays open.
export const SAY_WHY_MS = 6_000;

// States of a ceremony as the ceremony window shows them.
export const CEREMONY_STATES = Object.freeze({
  STARTING: "starting",
  WAITING: "waiting", // the daemon will ask: poll prompts.wait
  LOCKED: "locked",
  UNAVAILABLE: "unavailable",
  NO_PASSKEYS: "no-passkeys", // a get for which vauth has no passkey: offer the browser's
  DONE: "done",
});
