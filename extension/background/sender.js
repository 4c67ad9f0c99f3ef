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

export function isExtensionPage(sender) {
  const base = chrome.runtime.getURL("");
  return sender?.id === chrome.runtime.id && typeof sender.url === "string" && sender.url.startsWith(base);
}

export function isContentScript(sender) {
  return sender?.id === chrome.runtime.id && sender.tab != null && !isExtensionPage(sender);
}

// {origin, topOrigin?}: topOrigin only for frames (sender.frameId !== 0), from the tab's URL.
export function originsOf(sender) {
  const origin = (sender.origin && sender.origin !== "null" ? sender.origin : null) ?? originOf(sender.url);
  if (!origin) throw new VauthError(DOM_ERRORS.SECURITY, "This document has an opaque origin.");
  if (!sender.frameId) return { origin };
  const topOrigin = originOf(sender.tab?.url);
  if (!topOrigin) {
    throw new VauthError(DOM_ERRORS.NOT_ALLOWED, "The top-level site of this frame is not known.");
  }
  return { origin, topOrigin };
}

// WebAuthn's "is a registrable domain suffix of or is equal to", short of the public suffix list:
// the daemon applies that list for ceremonies; signals are checked here.
export function rpIdAllowed(rpId, origin) {
  if (typeof rpId !== "string" || rpId === "") return false;
  const host = new URL(origin).hostname;
  const id = rpId.toLowerCase();
  if (id === host) return true;
  if (/^[\d.]+$/.test(host) || host.startsWith("[")) return false; // IP addresses: equality only
  return host.endsWith(`.${id}`) && (id.includes(".") || id === "localhost");
}

export const hostOf = (origin) => new URL(origin).hostname;
