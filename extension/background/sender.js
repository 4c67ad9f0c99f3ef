// The origin of a request, from the browser's `sender` only; the page is never asked.
import { DOM_ERRORS } from "../shared/protocol.js";
import { VauthError } from "./errors.js";

function originOf(url) {
  try {
    const origin = new URL(url).origin;
    return origin && origin !== "null" ? origin : null;
  } catch {
    return null;
  }
}

// Chromium's own words when a document with an opaque origin calls WebAuthn (NotAllowedError).
export const OPAQUE_ORIGIN =
  "The current origin is an opaque origin and hence not allowed to access 'PublicKeyCredential' objects.";

// A serialized tuple origin as the browser gave it, or null: opaque ("null"), missing, or not one.
function tupleOrigin(origin) {
  if (typeof origin !== "string" || origin === "null") return null;
  try {
    return new URL(origin).origin === origin ? origin : null;
  } catch {
    return null;
  }
}

export function isExtensionPage(sender) {
  const base = chrome.runtime.getURL("");
  return sender?.id === chrome.runtime.id && typeof sender.url === "string" && sender.url.startsWith(base);
}

export function isContentScript(sender) {
  return sender?.id === chrome.runtime.id && sender.tab != null && !isExtensionPage(sender);
}

// {origin, topOrigin?}: topOrigin only for frames (sender.frameId !== 0), from the tab's URL.
// The origin is the browser's `sender.origin` and nothing else: a sandboxed document (CSP
// `sandbox`, an iframe without allow-same-origin, a data: document) has an opaque origin while
// its URL names a site, and about:blank/srcdoc frames inherit an origin their URL does not name.
// WebAuthn refuses opaque origins (NotAllowedError, as Chromium does); so does vauth when the
// browser names no origin at all.
export function originsOf(sender) {
  const origin = tupleOrigin(sender.origin);
  if (!origin) throw new VauthError(DOM_ERRORS.NOT_ALLOWED, OPAQUE_ORIGIN);
  if (!sender.frameId) return { origin };
  const topOrigin = originOf(sender.tab?.url);
  if (!topOrigin) {
    throw new VauthError(DOM_ERRORS.NOT_ALLOWED, "The top-level site of this frame is not known.");
  }
  return { origin, topOrigin };
}
