// Proxy mode: chrome.webAuthenticationProxy (Chromium 115+). While attached, every WebAuthn call
// of the profile (every tab, every frame) comes here after Chromium's own checks, whoever gets in
// first in the page. Off by default: the page script keeps per-request fallback and autofill.
//
// Measured in Chromium 156 (issue 14): the caller's origin is
// `extensions.remoteDesktopClientOverride.origin` (with `sameOriginWithAncestors`), never a tab
// URL; no top origin is given; `timeout` always reads 180000; Chromium does not check the
// clientDataJSON returned; an error completion reaches the page verbatim; detach() with a request
// pending gives the page AbortError; there is no per-request hand-back, so "use another
// authenticator" is: reject with PROXY.HANDBACK_*, detach, the page script re-issues the call to
// the browser and says when it settled, re-attach.
import { ACTIONS, DOM_ERRORS, PORTS, PROXY } from "../shared/protocol.js";
import { VauthError, pageError } from "./errors.js";
import * as keepalive from "./keepalive.js";
import { OPAQUE_ORIGIN } from "./sender.js";

const KEY = "proxy";
const HANDBACK_GRACE_MS = 10_000; // after the page's timeout: re-attach even if nothing else said
const NOTED_MS = 10_000;
const api = globalThis.chrome?.webAuthenticationProxy; // absent in Firefox

const state = { enabled: false, attached: false, held: false, message: null };
const requests = new Map(); // requestId -> Ceremony
const calledOff = new Set(); // requestIds aborted before their ceremony was made
const CALLED_OFF_MS = 60_000;
const noted = new Map(); // `${origin} ${challenge}` -> {topOrigin, timeout, at}
let handback = null; // {origin, detached: Promise, timer}
let applying = Promise.resolve();
let startCeremony = null; // (request) -> {result} | {fallback: true}, from sw.js
let isAvailable = null; // () -> Promise<boolean>

export const proxyAttached = () => state.attached;

// What the popup shows: {supported, enabled, attached, held, message}.
export function proxyState() {
  return { supported: Boolean(api), ...state, handedBack: handback !== null };
}

// The page script's request reached the service worker first while the proxy is attached: the
// call will come back through the proxy, which names no top origin and always says 180000 for
// the timeout. Keep the frame's top origin (from the browser's `sender`) and the page's own
// timeout for it, keyed by origin and challenge.
// The frame (`sender`) is kept too: vauth watches that document while it answers the request.
export function notePageRequest(origin, topOrigin, options, sender) {
  const now = Date.now();
  for (const [key, entry] of noted) if (now - entry.at > NOTED_MS) noted.delete(key);
  if (typeof options?.challenge === "string") {
    const timeout = typeof options.timeout === "number" ? options.timeout : undefined;
    const frame = { tabId: sender?.tab?.id, frameId: sender?.frameId, documentId: sender?.documentId };
    noted.set(`${origin} ${options.challenge}`, { topOrigin, timeout, frame, at: now });
  }
}

function takeNoted(origin, challenge) {
  const key = `${origin} ${challenge}`;
  const entry = noted.get(key);
  noted.delete(key);
  return entry && Date.now() - entry.at <= NOTED_MS ? entry : {};
}

export async function setProxyEnabled(enabled) {
  await chrome.storage.local.set({ [KEY]: { enabled: enabled === true } });
  return applyProxy();
}

// Attach or detach as the stored switch says; one change at a time.
export function applyProxy() {
  applying = applying.then(apply, apply);
  return applying;
}

async function apply() {
  state.enabled = (await chrome.storage.local.get(KEY))[KEY]?.enabled === true;
  if (!api) return proxyState();
  if (state.enabled && !state.attached && !handback) await attach();
  else if (!state.enabled && (state.attached || handback)) await detach();
  return proxyState();
}

async function attach() {
  let error;
  try {
    error = await api.attach();
  } catch (thrown) {
    error = thrown?.message || String(thrown);
  }
  state.attached = !error;
  state.held = Boolean(error);
  state.message = error || null;
  if (error) console.info("vauth: proxy mode is not available:", error);
}

async function detach() {
  endHandback();
  if (!state.attached) return;
  state.attached = false;
  try {
    await api.detach();
  } catch (error) {
    console.info("vauth: detach:", error?.message || error);
  }
}

// -- proxied requests ------------------------------------------------------------------------

function complete(kind, requestId, details) {
  const done = kind === ACTIONS.CREATE ? api.completeCreateRequest : api.completeGetRequest;
  return done({ requestId, ...details }).catch((error) => {
    console.info("vauth: completing a proxied request:", error?.message || error);
  });
}

// The L3 JSON options as Chromium gives them -> {origin, topOrigin, options} for a ceremony.
export function proxiedRequest(requestDetailsJson) {
  const options = JSON.parse(requestDetailsJson);
  const extensions = options.extensions ?? {};
  const override = extensions.remoteDesktopClientOverride;
  delete extensions.remoteDesktopClientOverride;
  if (options.extensions && !Object.keys(extensions).length) delete options.extensions;
  delete options.timeout; // always 180000 here, never the page's (noted below when known)
  const origin = override?.origin;
  let valid = false;
  try {
    valid = typeof origin === "string" && origin !== "null" && new URL(origin).origin === origin;
  } catch {
    valid = false;
  }
  if (!valid) throw new VauthError(DOM_ERRORS.NOT_ALLOWED, OPAQUE_ORIGIN);
  const page = takeNoted(origin, options.challenge);
  if (page.timeout !== undefined) options.timeout = page.timeout; // the daemon clamps it
  const frame = page.frame ?? null;
  if (override.sameOriginWithAncestors !== false) return { origin, topOrigin: undefined, options, frame };
  const topOrigin = page.topOrigin;
  if (!topOrigin) {
    // WebAuthn L3 5.10.1: clientDataJSON says crossOrigin and names the top origin; without
    // vauth's page script in the frame, vauth cannot tell which site embeds it.
    throw new VauthError(DOM_ERRORS.NOT_ALLOWED, "vauth cannot tell which site embeds this frame.");
  }
  return { origin, topOrigin, options, frame };
}

// Chromium does not say when the page of a proxied request goes away (a reload, a closed tab):
// watch its document through its bridge, when its page script said which one it is. A port
// to a document closes when the document goes away; it cannot open to one already gone.
function watch(frame, onGone) {
  if (frame?.tabId == null) return () => {};
  const target = frame.documentId ? { documentId: frame.documentId } : { frameId: frame.frameId ?? 0 };
  let port;
  try {
    port = chrome.tabs.connect(frame.tabId, { ...target, name: PORTS.WATCH });
  } catch {
    onGone();
    return () => {};
  }
  const gone = () => onGone();
  port.onDisconnect.addListener(gone);
  return () => {
    port.onDisconnect.removeListener(gone);
    port.disconnect();
  };
}

async function onRequest(kind, { requestId, requestDetailsJson }) {
  let origin, frame, request;
  let answer;
  try {
    ({ frame, ...request } = proxiedRequest(requestDetailsJson));
    origin = request.origin;
    answer = await startCeremony({
      kind,
      ...request,
      conditional: false,
      track(ceremony) {
        requests.set(requestId, ceremony);
        // vauth's own deadline (the page's timeout when its page script noted it, else 5 min)
        const timer = setTimeout(() => ceremony.cancel("vauth's time for this request ran out."), ceremony.timeoutMs);
        const unwatch = watch(frame, () => ceremony.cancel("The page went away."));
        // (aborted before this: called off at once, before it asks the daemon anything)
        if (calledOff.delete(requestId)) ceremony.cancel("The page aborted the request.");
        return () => {
          clearTimeout(timer);
          unwatch();
          requests.delete(requestId);
        };
      },
    });
  } catch (error) {
    calledOff.delete(requestId);
    return complete(kind, requestId, { error: pageError(error) });
  }
  if (answer.fallback) return handBack(kind, requestId, origin, frame, request.options.timeout);
  return complete(kind, requestId, { responseJson: JSON.stringify(answer.result) });
}

// "Use another authenticator" (or the site's remembered choice): end the request with the
// hand-back error, then let go of the proxy until the page's own call to the browser settles.
// It comes back however that ends: the page script says so (answered, refused, timed out), the
// page goes away (closed, navigated: its document is watched), the page's timeout passes (a
// backstop), or the worker starts again (it attaches when it starts). The worker stays awake
// meanwhile, so that none of these is missed. A call vauth's page script did not make cannot be
// asked again: the proxy is not let go for it.
async function handBack(kind, requestId, origin, frame, timeout) {
  await complete(kind, requestId, { error: { name: PROXY.HANDBACK_ERROR, message: PROXY.HANDBACK_MESSAGE } });
  if (!frame) return;
  const detached = detach().then(() => undefined);
  keepalive.hold();
  const backstop = (typeof timeout === "number" ? Math.min(Math.max(timeout, 10_000), 600_000) : 300_000) + HANDBACK_GRACE_MS;
  handback = {
    origin,
    detached,
    timer: setTimeout(() => resume(null, true), backstop),
    unwatch: watch(frame, () => resume(null, true)),
  };
}

// The hand-back is over (or the switch was turned off): let the worker sleep again.
function endHandback() {
  if (!handback) return;
  clearTimeout(handback.timer);
  handback.unwatch();
  handback = null;
  keepalive.release();
}

// The page script (op HANDBACK): wait until the proxy has let go, so its call reaches the browser.
export async function releaseFor(origin) {
  if (!handback || handback.origin !== origin) {
    throw new VauthError(DOM_ERRORS.NOT_ALLOWED, "vauth did not hand a request back to this page.");
  }
  await handback.detached;
  return null;
}

// The page script (op HANDBACK_DONE), or the backstop timer: take the proxy back.
export async function resume(origin, always = false) {
  if (!handback || (!always && handback.origin !== origin)) return null;
  endHandback();
  await applyProxy();
  return null;
}

export function initProxy({ start, available }) {
  startCeremony = start;
  isAvailable = available;
  if (!api) return;
  // Listeners at the top level of the service worker, so an event wakes it.
  api.onCreateRequest.addListener((request) => onRequest(ACTIONS.CREATE, request));
  api.onGetRequest.addListener((request) => onRequest(ACTIONS.GET, request));
  api.onRequestCanceled.addListener((requestId) => {
    const ceremony = requests.get(requestId);
    if (ceremony) return ceremony.cancel("The page aborted the request.");
    calledOff.add(requestId); // its ceremony is not made yet
    setTimeout(() => calledOff.delete(requestId), CALLED_OFF_MS);
  });
  api.onIsUvpaaRequest.addListener(async ({ requestId }) => {
    const isUvpaa = await isAvailable().catch(() => false);
    api.completeIsUvpaaRequest({ requestId, isUvpaa }).catch(() => {});
  });
  // The proxy does not outlive the browser: attach again when it starts.
  chrome.runtime.onStartup.addListener(() => applyProxy());
  applyProxy();
}
