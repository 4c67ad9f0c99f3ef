// Helpers shared by the extension's pages (ceremony window, popup, options).
import { MSG } from "../shared/protocol.js";

export class UiError extends Error {
  constructor({ code, message, startCommand }) {
    super(message || code);
    this.code = code;
    if (startCommand) this.startCommand = startCommand; // daemon_unavailable: how to start it here
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

const BROWSER = chrome.runtime.getURL("").startsWith("moz-extension:") ? "firefox"
  : navigator.userAgentData?.brands?.some((b) => b.brand === "Google Chrome") ? "chrome" : "chromium";

// The commands a person is told to run. The native host says how the daemon starts on this
// computer (vauth as installed here, or its systemd unit); with no host, nothing can be asked.
export const startCommand = (error) => error?.startCommand || "vauth serve";
export const setupCommand = () => `vauth native-host install --browser ${BROWSER}`;

const MESSAGES = {
  daemon_unavailable: (error) => `vauth is not running. Start it with this command, then try again: \`${startCommand(error)}\``,
  host_unavailable: () => `vauth is not set up in this browser yet. Run this command once, then try again: \`${setupCommand()}\``,
  vault_locked: () => "Your vault is locked. Unlock it first.",
  wrong_passphrase: () => "That passphrase is not right.",
  "no vault": () => "This vauth keeps no vault: it was started for testing, and forgets every passkey when it stops.",
};

// `vauth` as typed on this computer (host.hello's command), once a page has asked the host.
let vauthCommand = "vauth";
export const useVauthCommand = (command) => void (vauthCommand = command || "vauth");

// A sentence for a person, with the commands it names in `backticks`: the known codes in plain
// words, else the daemon's own message (ended with a full stop), its `vauth ...` as typed here.
function sentence(error) {
  const known = MESSAGES[error?.code]?.(error);
  if (known) return known;
  const message = String(error?.message ?? error).replaceAll("`vauth ", `\`${vauthCommand} `);
  return /[.!?:`]$/.test(message) ? message : `${message}.`;
}

// The sentence as text (the backticks would show literally), or as nodes, each command in a
// <code> a person can copy.
export const describe = (error) => sentence(error).replace(/`([^`]*)`/g, "$1");
export const describeNodes = (error) =>
  sentence(error).split(/`([^`]*)`/).map((part, i) => (i % 2 ? el("code", { class: "command" }, part) : part));

export function showError(node, error) {
  node.replaceChildren(...(error ? describeNodes(error) : []));
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
