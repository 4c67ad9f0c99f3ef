// vauth's service worker: ONE routing table for every message (bridges, popup, options page,
// ceremony window), ONE native port to the host. The origin of a page's request comes only from
// the browser's `sender`.
import {
  ACTIONS, CHOICES, DOM_ERRORS, ERRORS, MSG, PAGE_OPS, PORTS, UI_ACTIONS, VAULT_CHANGES,
} from "../shared/protocol.js";
import { Ceremony, ceremonies, ceremonyByWindow, daemonStatus } from "./ceremony.js";
import { VauthError, asJSON, isUnavailable, pageError } from "./errors.js";
import { NativeHost } from "./native.js";
import {
  applyProxy, initProxy, notePageRequest, proxyAttached, releaseFor, resume, setProxyEnabled,
} from "./proxy.js";
import { isContentScript, isExtensionPage, originsOf } from "./sender.js";
import { choiceFor, loadSettings, rememberedFor, saveSettings } from "./settings.js";
import { tellUser } from "./notify.js";

const host = new NativeHost();
const LONG_ACTIONS = { [ACTIONS.EXPORT]: 300_000, [ACTIONS.IMPORT]: 300_000, [ACTIONS.UNLOCK]: 120_000, [ACTIONS.PASSPHRASE]: 120_000 };
// A bridge opens one page port per document; each request on it has an id. A request can be
// called off (the page aborted it, or went away: its port closed) before its ceremony exists
// (it is made after a few awaits): then the reason waits in its entry, and the ceremony is
// called off as soon as it is made, before it asks the daemon anything.
const pagePorts = new WeakMap(); // page port -> Map(request id -> {ceremony, calledOff})

function callOff(port, id, reason) {
  const entry = pagePorts.get(port)?.get(id);
  if (!entry) return;
  entry.calledOff ??= reason;
  entry.ceremony?.cancel(entry.calledOff);
}

// -- page requests (from a bridge, over a PORTS.PAGE port) --------------------------------------

async function pageRequest(msg, sender, port) {
  const { origin, topOrigin } = originsOf(sender);
  const payload = msg.payload ?? {};
  switch (msg.op) {
    case PAGE_OPS.MODE:
      return { result: { choice: await choiceFor(origin) } };
    case PAGE_OPS.CREATE:
    case PAGE_OPS.GET:
      return pageCeremony(msg, { origin, topOrigin, payload, sender, port });
    case PAGE_OPS.AVAILABLE:
      return { result: { available: await available(), proxied: proxyAttached() } };
    case PAGE_OPS.HANDBACK:
      return { result: await releaseFor(origin) };
    case PAGE_OPS.HANDBACK_DONE:
      return { result: await resume(origin) };
    case PAGE_OPS.SIGNAL_UNKNOWN_CREDENTIAL:
    case PAGE_OPS.SIGNAL_ALL_ACCEPTED_CREDENTIALS:
    case PAGE_OPS.SIGNAL_CURRENT_USER_DETAILS:
      return signal(msg.op, origin, payload);
    default:
      throw new VauthError(DOM_ERRORS.NOT_SUPPORTED, `unknown operation ${msg.op}`);
  }
}

// A create/get from the page script. While the proxy is attached, the page script hands the call
// to the browser, which passes it to the proxy (proxy.js): the same ceremony, entered there.
async function pageCeremony(msg, { origin, topOrigin, payload, sender, port }) {
  const kind = msg.op === PAGE_OPS.CREATE ? ACTIONS.CREATE : ACTIONS.GET;
  const options = payload.options;
  if (!options || typeof options !== "object") throw new VauthError(DOM_ERRORS.TYPE, "publicKey is required");
  if (proxyAttached()) {
    notePageRequest(origin, topOrigin, options, sender);
    return { fallback: true };
  }
  const conditional = kind === ACTIONS.GET && payload.conditional === true;
  return ceremonyRequest({
    kind, options, origin, topOrigin, conditional, tabId: sender.tab?.id,
    track(ceremony) {
      const entry = pagePorts.get(port)?.get(msg.id) ?? { ceremony: null, calledOff: null };
      entry.ceremony = ceremony;
      if (entry.calledOff) ceremony.cancel(entry.calledOff);
      return () => (entry.ceremony = null);
    },
  });
}

// One ceremony, whichever way it came in (page script or proxy): the site's remembered choice,
// the daemon's rpId check, then the ceremony. {result} | {fallback: true} (the browser's own).
async function ceremonyRequest({ kind, options, origin, topOrigin, conditional, tabId, track }) {
  const remembered = await rememberedFor(origin);
  const choice = remembered.choice;
  if (choice === CHOICES.BROWSER) return { fallback: true };
  const rpId = (await asksFirst(conditional)) ? await checkedRpId(kind, options, origin) : null;
  if (conditional && !(await offersPasskeys(options, origin, rpId))) return { fallback: true };
  const ceremony = new Ceremony(host, { kind, options, origin, topOrigin, rpId, conditional, tabId, choice, remembered });
  const untrack = track(ceremony);
  try {
    return await ceremony.run();
  } finally {
    untrack();
  }
}

// isUserVerifyingPlatformAuthenticatorAvailable(): vauth verifies its user (the vault's
// passphrase), so it is one while the daemon answers, locked or not.
async function available() {
  try {
    await daemonStatus(host);
    return true;
  } catch {
    return false;
  }
}

// The daemon judges the page's rpId against its origin first, before any window opens or
// anything looks at the vault, so a refusal is the same whatever passkeys vauth holds
// (WebAuthn L3 14.5.2). null when the daemon cannot be reached: the ceremony then waits for it,
// and the daemon judges again on every request that carries the origin.
async function checkedRpId(kind, options, origin) {
  const named = kind === ACTIONS.CREATE ? options.rp?.id : options.rpId;
  try {
    const checked = await host.request(ACTIONS.RP_ID_CHECK, { origin, rpId: named ?? undefined });
    return checked.rpId;
  } catch (error) {
    if (isUnavailable(error)) return null;
    throw error;
  }
}

// Must the rpId be judged before the ceremony? Not when no window will open and nothing is
// offered first (presence "auto", the vault open, not conditional): the daemon judges it again,
// first, on the create/get itself, with the same answer. That saves a round trip to the daemon.
async function asksFirst(conditional) {
  if (conditional) return true;
  try {
    const status = await daemonStatus(host);
    return status.presence !== "auto" || Boolean(status.vault?.locked);
  } catch {
    return true;
  }
}

// Conditional mediation: offer vauth only when it has a passkey for the site, or cannot tell
// until the vault is unlocked. Otherwise the browser's own autofill UI takes the request.
async function offersPasskeys(options, origin, rpId) {
  try {
    const status = await daemonStatus(host);
    if (status.vault?.locked) return true;
    if (status.presence === "auto") return true;
    const list = await host.request(ACTIONS.CREDENTIALS_LIST, { origin, rpId: rpId ?? undefined });
    return list.some((c) => c.discoverable) || (options.allowCredentials ?? []).length > 0;
  } catch (error) {
    if (isUnavailable(error)) return false;
    if (Object.values(DOM_ERRORS).includes(error.code)) throw error;
    return true;
  }
}

const SIGNAL_ACTIONS = {
  [PAGE_OPS.SIGNAL_UNKNOWN_CREDENTIAL]: ACTIONS.SIGNAL_UNKNOWN_CREDENTIAL,
  [PAGE_OPS.SIGNAL_ALL_ACCEPTED_CREDENTIALS]: ACTIONS.SIGNAL_ALL_ACCEPTED_CREDENTIALS,
  [PAGE_OPS.SIGNAL_CURRENT_USER_DETAILS]: ACTIONS.SIGNAL_CURRENT_USER_DETAILS,
};

// The Signal API: the daemon checks the rpId against the sender's origin (SecurityError), by
// the rule it applies to ceremonies; vauth's answer is otherwise best effort.
async function signal(op, origin, payload) {
  let result;
  try {
    result = await host.request(SIGNAL_ACTIONS[op], { ...payload, origin });
  } catch (error) {
    if (Object.values(DOM_ERRORS).includes(error.code)) throw error;
    console.info("vauth: signal not applied:", error.code, error.message);
    return { result: null };
  }
  const removed = result?.removed?.length ?? 0;
  const updated = result?.updated?.length ?? 0;
  if (removed) await tellUser("vauth moved a passkey to the trash", `${payload.rpId} no longer accepts ${removed} of your passkeys; vauth moved ${removed === 1 ? "it" : "them"} to the trash. You can restore ${removed === 1 ? "it" : "them"} from the vauth options page for 30 days.`);
  if (updated) await tellUser("vauth updated a passkey", `${payload.rpId} renamed your account; vauth updated ${updated} passkey${updated === 1 ? "" : "s"}.`);
  return { result: null };
}

function pageCancel(msg, _sender, port) {
  callOff(port, msg.id, "The page aborted the request.");
  return null;
}

// -- extension pages --------------------------------------------------------------------------

// Which extension page changed the vault, as the daemon's audit log records it (`via`).
function via(sender) {
  const path = sender?.url ? new URL(sender.url).pathname : "";
  return path.startsWith("/popup/") ? "popup" : path.startsWith("/options/") ? "options" : undefined;
}

async function daemon(msg, sender) {
  if (!UI_ACTIONS.includes(msg.action)) throw new VauthError(ERRORS.FORBIDDEN, `${msg.action} is not for extension pages`);
  const params = { ...(msg.params ?? {}) };
  delete params.via; // only the service worker says which page asked
  if (VAULT_CHANGES.includes(msg.action) && via(sender)) params.via = via(sender);
  const timeoutMs = msg.action === ACTIONS.PROMPTS_WAIT
    ? (Number(params.timeout) || 25) * 1000 + 10_000
    : LONG_ACTIONS[msg.action];
  return host.request(msg.action, params, timeoutMs ? { timeoutMs } : {});
}

function ceremonyOf(msg) {
  const ceremony = ceremonies.get(msg.ceremonyId);
  if (!ceremony) throw new VauthError(ERRORS.NO_SUCH_PROMPT, "This request is over.");
  return ceremony;
}

// The window's "Next time on this site": remember `choice` for the site the window named (the
// rpId the daemon checked for this origin; the origin's host until the daemon has checked one),
// or for every site; "ask me again" forgets what had been remembered here.
async function remember(ceremony, scope, choice) {
  const site = ceremony.checkedRpId ?? new URL(ceremony.origin).hostname;
  if (scope === "site") await saveSettings({ sites: { [site]: choice } });
  else if (scope === "global") await saveSettings({ global: choice });
  else if (ceremony.remembered?.scope === "site") {
    await saveSettings({ sites: { [ceremony.remembered.site]: null } });
    if ((await choiceFor(ceremony.origin)) !== CHOICES.ASK) await saveSettings({ sites: { [site]: CHOICES.ASK } });
  } else if (ceremony.remembered?.scope === "global") {
    await saveSettings({ sites: { [site]: CHOICES.ASK } });
  }
}

// -- the routing table --------------------------------------------------------------------------
// from: "page" (a content script of this extension, over a page port) or "extension" (its pages)

const ROUTES = {
  [MSG.PAGE_REQUEST]: { from: "page", handle: pageRequest },
  [MSG.PAGE_CANCEL]: { from: "page", handle: pageCancel },
  [MSG.DAEMON]: { from: "extension", handle: daemon },
  [MSG.SETTINGS_GET]: { from: "extension", handle: () => loadSettings() },
  [MSG.SETTINGS_SET]: { from: "extension", handle: (msg) => saveSettings(msg.patch) },
  [MSG.PROXY_GET]: { from: "extension", handle: () => applyProxy() },
  [MSG.PROXY_SET]: { from: "extension", handle: (msg) => setProxyEnabled(msg.enabled === true) },
  [MSG.CEREMONY_INFO]: { from: "extension", handle: (msg) => ceremonyOf(msg).info() },
  [MSG.CEREMONY_ATTACH]: { from: "extension", handle: (msg, _s, port) => ceremonyOf(msg).attach(port) },
  [MSG.CEREMONY_ANSWER]: {
    from: "extension",
    handle: async (msg) => {
      const ceremony = ceremonyOf(msg);
      await ceremony.approve(msg.promptId, msg.selected, msg.synced);
      await remember(ceremony, msg.remember, CHOICES.VAUTH);
      return null;
    },
  },
  [MSG.CEREMONY_FALLBACK]: {
    from: "extension",
    handle: async (msg) => {
      const ceremony = ceremonyOf(msg);
      await remember(ceremony, msg.remember, CHOICES.BROWSER);
      ceremony.fallback();
      return null;
    },
  },
  [MSG.CEREMONY_CANCEL]: { from: "extension", handle: (msg) => ceremonyOf(msg).cancel() },
  [MSG.CEREMONY_UNLOCK]: { from: "extension", handle: (msg) => ceremonyOf(msg).unlock(msg.passphrase) },
  [MSG.CEREMONY_RETRY]: { from: "extension", handle: (msg) => ceremonyOf(msg).retryNow() },
};

async function route(msg, sender, port = null) {
  const entry = ROUTES[msg?.type];
  if (!entry) throw new VauthError(ERRORS.BAD_MESSAGE, `unknown message type ${msg?.type}`);
  const allowed = entry.from === "page"
    ? port?.name === PORTS.PAGE && isContentScript(sender)
    : isExtensionPage(sender);
  if (!allowed) throw new VauthError(ERRORS.FORBIDDEN, `${msg.type} is not accepted from this sender`);
  return (await entry.handle(msg, sender, port)) ?? null;
}

// runtime.sendMessage: extension pages. Reply {ok, result} | {ok: false, error: {code, message}}.
chrome.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  route(msg, sender).then(
    (result) => sendResponse({ ok: true, result }),
    (error) => sendResponse({ ok: false, error: asJSON(error) }),
  );
  return true;
});

// Ports: a bridge's page requests (one port per document) and the ceremony window's state feed.
chrome.runtime.onConnect.addListener((port) => {
  if (port.name === PORTS.PAGE) return connectPage(port);
  if (port.name === PORTS.CEREMONY) {
    port.onMessage.addListener((msg) => {
      route(msg, port.sender, port).catch((error) => {
        port.postMessage({ type: MSG.CEREMONY_STATE, ceremony: null, error: asJSON(error) });
      });
    });
    return;
  }
  port.disconnect();
});

function connectPage(port) {
  const calls = new Map(); // request id -> {ceremony, calledOff}, while it is answered
  pagePorts.set(port, calls);
  port.onMessage.addListener((msg) => {
    if (typeof msg?.id !== "string") return;
    const answering = msg.type === MSG.PAGE_REQUEST;
    if (answering && calls.has(msg.id)) return; // one answer per request id
    if (answering) calls.set(msg.id, { ceremony: null, calledOff: null });
    route(msg, port.sender, port).then(
      (answer) => answer && reply(port, { id: msg.id, ok: !answer.fallback, ...answer }),
      (error) => reply(port, { id: msg.id, ok: false, error: pageError(error) }),
    ).finally(() => answering && calls.delete(msg.id));
  });
  port.onDisconnect.addListener(() => {
    for (const id of calls.keys()) callOff(port, id, "The page went away.");
  });
}

function reply(port, message) {
  try {
    port.postMessage(message);
  } catch {
    // the page went away
  }
}

chrome.windows.onRemoved.addListener((windowId) => {
  const ceremony = ceremonyByWindow(windowId);
  if (ceremony) {
    ceremony.windowId = null;
    ceremony.cancel("The user closed the vauth window.");
  }
});

initProxy({ start: ceremonyRequest, available });
