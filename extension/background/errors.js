// One error type for every hop: `code` is a daemon/host/extension code or a DOMException name.
import { DOM_ERRORS, ERRORS } from "../shared/protocol.js";

export class VauthError extends Error {
  // startCommand: with daemon_unavailable, how to start the daemon on this computer (the host says)
  constructor(code, message, { startCommand } = {}) {
    super(message || code);
    this.code = code;
    if (typeof startCommand === "string") this.startCommand = startCommand;
  }

  toJSON() {
    return { code: this.code, message: this.message, ...(this.startCommand ? { startCommand: this.startCommand } : {}) };
  }
}

const DOM_NAMES = new Set(Object.values(DOM_ERRORS));

export const isUnavailable = (error) =>
  error?.code === ERRORS.DAEMON_UNAVAILABLE || error?.code === ERRORS.HOST_UNAVAILABLE;

// What a web page may see: a DOMException name WebAuthn specifies, never vauth's internals.
// NotAllowedError keeps the browsers' one sentence: a page must not tell a dismissal from a
// timeout or from having no passkey.
const NOT_ALLOWED = "The operation either timed out or was not allowed. See: https://www.w3.org/TR/webauthn-2/#sctn-privacy-considerations-client.";

export function pageError(error) {
  if (DOM_NAMES.has(error?.code) && error.code !== DOM_ERRORS.NOT_ALLOWED) {
    return { name: error.code, message: error.message };
  }
  return { name: DOM_ERRORS.NOT_ALLOWED, message: NOT_ALLOWED };
}

export const asJSON = (error) =>
  error instanceof VauthError
    ? error.toJSON()
    : { code: ERRORS.INTERNAL, message: String(error?.message || error) };
