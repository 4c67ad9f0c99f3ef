// Helpers shared by the extension's pages (ceremony window, popup, options).
import { MSG } from "../shared/protocol.js";

export class UiError extends Error {
  constructor({ code, message }) {
    super(message || code);
    this.code = code;
  }
}

// One message to the service worker's routing table; throws UiError on {ok: false}.
export async function call(type, fields = {}) {
  const reply = await chrome.runtime.sendMessage({ type, ...fields });
  if (!reply) throw new UiError({ code: "internal", message: "vauth's service worker did not answer" });
  if (!reply.ok) throw new UiError(reply.error);
  return reply.result;
}

export const daemon = (action, params = {}) => call(MSG.DAEMON, { action, params });

export const $ = (selector, root = document) => root.querySelector(selector);

// Build an element: el("li", {class: "x", dataset: {id}}, "text", child, ...).
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function when(ms) {
  if (!ms) return "never";
  return new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

const MESSAGES = {
  daemon_unavailable: "vauth is not running. Start it (the command is: vauth serve), then try again.",
  host_unavailable: "vauth is not set up in this browser yet. Run this command once: vauth native-host install",
  vault_locked: "Your vault is locked. Unlock it first.",
  wrong_passphrase: "That passphrase is not right.",
  "no vault": "This vauth keeps no vault: it was started for testing, and forgets every passkey when it stops.",
};

// A sentence for a person: the known codes in plain words; a daemon's message without the
// `backticks` it uses for commands (they would show literally).
export const describe = (error) =>
  MESSAGES[error?.code] ?? String(error?.message ?? error).replace(/`([^`]*)`/g, "$1");

export function showError(node, error) {
  node.textContent = error ? describe(error) : "";
  node.hidden = !error;
}

// Is this credential's rpId the host or one of its parent domains?
export function rpIdMatches(rpId, host) {
  return rpId === host || host.endsWith(`.${rpId}`);
}

export function download(name, bytes, type = "application/octet-stream") {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const link = el("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const base64ToBytes = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

export function bytesToBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
