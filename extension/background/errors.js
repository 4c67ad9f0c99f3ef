// One error type for every hop: `code` is a daemon/host/extension code or a DOMException name.
import { DOM_ERRORS, ERRORS, PAGE_ERRORS, PAGE_ERROR_MESSAGES } from "../shared/protocol.js";

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

export const isUnavailable = (error) =>
  error?.code === ERRORS.DAEMON_UNAVAILABLE || error?.code === ERRORS.HOST_UNAVAILABLE;

// What a web page may see (PAGE_ERRORS, the one table): a DOMException name WebAuthn specifies,
// in the browser's words where it always words it the same way, never vauth's internals
// (a page must not tell a dismissal from a timeout or from having no passkey).
const MESSAGES = PAGE_ERROR_MESSAGES[
  globalThis.chrome?.runtime?.getURL("").startsWith("moz-extension:") ? "firefox" : "chromium"];

export function pageError(error) {
  const name = PAGE_ERRORS[error?.code] ?? DOM_ERRORS.NOT_ALLOWED;
  return { name, message: MESSAGES[name] ?? String(error?.message ?? "") };
}

export const asJSON = (error) =>
  error instanceof VauthError
    ? error.toJSON()
    : { code: ERRORS.INTERNAL, message: String(error?.message || error) };
