// One WebAuthn ceremony (create or get) started by a page: the daemon request, the ceremony window,
// and the person's answer (approve, use another authenticator, cancel, unlock the vault).
import { ACTIONS, CEREMONY_STATES, DOM_ERRORS, ERRORS, MSG, SAY_WHY_MS } from "../shared/protocol.js";
import { VauthError, isUnavailable } from "./errors.js";
import * as keepalive from "./keepalive.js";

const CEREMONY_TIMEOUT_MS = 300_000;
const RECHECK_MS = 1_000;
const FIREFOX = chrome.runtime.getURL("").startsWith("moz-extension:");
const DOM_NAMES = new Set(Object.values(DOM_ERRORS));
const WINDOW = { width: 520, height: 680 };

export const ceremonies = new Map(); // ceremonyId -> Ceremony

// The daemon's status, reused for a moment: every ceremony needs it, and in tester mode a round
// trip to the daemon is most of a ceremony's time. A locked vault is never taken from the cache,
// and a stale "unlocked" costs nothing: the daemon's own vault_locked answer is handled below.
// A reused "presence: auto" may be stale (the daemon restarted with `--presence prompt` meanwhile,
// whose prompt would then wait with no window to answer it): a ceremony that went ahead on it
// and is still running after CONFIRM_AUTO_MS asks the daemon again (see confirmAuto).
const STATUS_FRESH_MS = 2_000;
const CONFIRM_AUTO_MS = 500;
let recentStatus = null; // {status, at}

export async function daemonStatus(host, { reused = null } = {}) {
  if (recentStatus && Date.now() - recentStatus.at < STATUS_FRESH_MS) {
    if (reused) reused.value = true;
    return recentStatus.status;
  }
  const status = await host.request(ACTIONS.STATUS);
  recentStatus = status.vault?.locked ? null : { status, at: Date.now() };
  return status;
}

const deferred = () => {
  let resolve, reject;
  const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
};

const randomId = () => {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};

export class Ceremony {
  // kind: "create" | "get"; options: L3 JSON; conditional: a `mediation: "conditional"` get;
  // checkedRpId: the rpId as the daemon judged it for this origin (null if not yet asked)
  constructor(host, { kind, options, origin, topOrigin, rpId = null, conditional = false, tabId, choice, remembered = null }) {
    Object.assign(this, { host, kind, options, origin, topOrigin, conditional, tabId, choice, remembered });
    this.checkedRpId = rpId;
    this.id = randomId();
    this.state = CEREMONY_STATES.STARTING;
    this.error = null;
    this.windowId = null;
    this.windowOpening = null;
    this.ports = new Set();
    this.outcome = deferred();
    this.settled = false;
    this.retry = deferred();
    this.daemonBusy = false;
    this.rechecking = false;
  }

  get timeoutMs() {
    const t = this.options?.timeout;
    return (typeof t === "number" && t > 0 ? Math.min(t, 600_000) : CEREMONY_TIMEOUT_MS) + 30_000;
  }

  get rpId() {
    if (this.checkedRpId) return this.checkedRpId;
    const named = this.kind === ACTIONS.CREATE ? this.options?.rp?.id : this.options?.rpId;
    return typeof named === "string" && named ? named : new URL(this.origin).hostname;
  }

  // What the ceremony window shows before (and beside) the daemon's prompt.
  info() {
    const o = this.options ?? {};
    const selection = o.authenticatorSelection ?? {};
    return {
      id: this.id,
      kind: this.kind,
      conditional: this.conditional,
      origin: this.origin,
      topOrigin: this.topOrigin ?? null,
      rpId: this.rpId,
      rpName: o.rp?.name ?? null,
      user: this.kind === ACTIONS.CREATE ? { name: o.user?.name ?? "", displayName: o.user?.displayName ?? "" } : null,
      attestation: o.attestation ?? "none",
      residentKey: selection.residentKey ?? (selection.requireResidentKey ? "required" : "discouraged"),
      userVerification: (this.kind === ACTIONS.CREATE ? selection.userVerification : o.userVerification) ?? "preferred",
      allowCredentials: Array.isArray(o.allowCredentials) ? o.allowCredentials.length : 0,
      choice: this.choice,
      remembered: this.remembered ? { scope: this.remembered.scope, site: this.remembered.site } : null,
      state: this.state,
      error: this.error,
    };
  }

  async run() {
    ceremonies.set(this.id, this);
    keepalive.hold();
    this.drive().catch((error) => this.settle(null, error));
    try {
      return await this.outcome.promise;
    } finally {
      ceremonies.delete(this.id);
      keepalive.release();
      this.closeWindow(this.error?.code === ERRORS.STOPPING ? SAY_WHY_MS + 1_000 : undefined);
    }
  }

  // status -> (window) -> create/get; a locked vault or a missing daemon waits for the window.
  async drive() {
    while (!this.settled) {
      let status;
      const reused = { value: false };
      try {
        status = await daemonStatus(this.host, { reused });
      } catch (error) {
        if (!isUnavailable(error)) throw error;
        await this.waitFor(CEREMONY_STATES.UNAVAILABLE, error);
        continue;
      }
      if (status.vault?.locked) {
        await this.waitFor(CEREMONY_STATES.LOCKED, null);
        continue;
      }
      if (status.presence !== "auto") {
        if (this.kind === ACTIONS.GET && !(await this.hasPasskeys())) {
          await this.waitFor(CEREMONY_STATES.NO_PASSKEYS, null);
          continue;
        }
        this.setState(CEREMONY_STATES.WAITING);
        await this.openWindow();
      }
      if (this.settled) return; // called off while it looked: nothing reaches the daemon
      const confirm = status.presence === "auto" && reused.value
        ? setTimeout(() => this.confirmAuto(), CONFIRM_AUTO_MS)
        : null;
      try {
        this.daemonBusy = true;
        const result = await this.host.request(
          this.kind,
          { origin: this.origin, topOrigin: this.topOrigin, options: this.options, ceremonyId: this.id },
          { timeoutMs: this.timeoutMs },
        ).finally(() => (this.daemonBusy = false));
        return this.settle({ result });
      } catch (error) {
        if (this.settled) return;
        recentStatus = null;
        if (error.code === ERRORS.VAULT_LOCKED) await this.waitFor(CEREMONY_STATES.LOCKED, null);
        else if (isUnavailable(error)) await this.waitFor(CEREMONY_STATES.UNAVAILABLE, error);
        else throw error;
      } finally {
        clearTimeout(confirm);
      }
    }
  }

  // The ceremony went ahead without a window on a reused "presence: auto" and has not finished:
  // if the daemon now prompts (it was restarted in another mode), open the window for its prompt.
  async confirmAuto() {
    if (this.settled || this.windowId !== null) return;
    recentStatus = null;
    const status = await daemonStatus(this.host).catch(() => null);
    if (!status || status.presence === "auto" || this.settled) return;
    this.setState(CEREMONY_STATES.WAITING);
    await this.openWindow();
  }

  // Does the vault hold a passkey this get can use? (Without one, the window offers the others.)
  // The origin goes along: the daemon refuses an rpId it may not claim before it reads the vault.
  async hasPasskeys() {
    let list;
    try {
      list = await this.host.request(ACTIONS.CREDENTIALS_LIST, { origin: this.origin, rpId: this.rpId });
    } catch (error) {
      if (DOM_NAMES.has(error.code)) throw error;
      return true; // let the daemon answer
    }
    const allowed = Array.isArray(this.options?.allowCredentials)
      ? this.options.allowCredentials.map((c) => c?.id)
      : [];
    if (allowed.length) return list.some((c) => allowed.includes(c.credentialId));
    return list.some((c) => c.discoverable);
  }

  // Show the window in `state` and wait until it asks to retry (after an unlock, say). A locked
  // or unreachable daemon is also looked at again every RECHECK_MS: a vault unlocked elsewhere
  // (`vauth unlock`, the popup, another window) or a daemon started meanwhile lets the ceremony
  // go on by itself. (In Firefox this is also how a test gets past the window, which its remote
  // agent cannot reach.)
  async waitFor(state, error) {
    const retry = (this.retry = deferred());
    this.setState(state, error);
    await this.openWindow();
    const recheck = state === CEREMONY_STATES.LOCKED || state === CEREMONY_STATES.UNAVAILABLE;
    const timer = recheck ? setInterval(() => this.recheck(state, retry), RECHECK_MS) : null;
    try {
      await retry.promise;
    } finally {
      clearInterval(timer);
    }
  }

  async recheck(state, retry) {
    if (this.rechecking || this.settled) return;
    this.rechecking = true;
    try {
      recentStatus = null;
      const status = await daemonStatus(this.host);
      if (this.settled || this.retry !== retry) return; // answered meanwhile
      if (state === CEREMONY_STATES.UNAVAILABLE || !status.vault?.locked) {
        this.setState(CEREMONY_STATES.STARTING);
        retry.resolve();
      }
    } catch {
      // still unreachable: keep waiting
    } finally {
      this.rechecking = false;
    }
  }

  setState(state, error = null) {
    this.state = state;
    this.error = error ? { code: error.code, message: error.message, startCommand: error.startCommand } : null;
    this.broadcast();
  }

  broadcast() {
    for (const port of this.ports) {
      try {
        port.postMessage({ type: MSG.CEREMONY_STATE, ceremony: this.info() });
      } catch {
        this.ports.delete(port);
      }
    }
  }

  attach(port) {
    this.ports.add(port);
    port.onDisconnect.addListener(() => this.ports.delete(port));
    port.postMessage({ type: MSG.CEREMONY_STATE, ceremony: this.info() });
  }

  async openWindow() {
    if (this.windowId !== null || this.settled) return;
    this.windowOpening ??= chrome.windows
      .create({
        url: chrome.runtime.getURL(`ui/ceremony.html?id=${encodeURIComponent(this.id)}`),
        type: "popup",
        focused: true,
        ...WINDOW,
      })
      .then((win) => {
        this.windowId = win.id;
        if (this.settled) this.closeWindow();
      });
    await this.windowOpening;
  }

  // The window closes itself when told the ceremony is over; this is the backstop.
  closeWindow(delayMs = 1500) {
    if (this.windowId === null) return;
    const id = this.windowId;
    this.windowId = null;
    setTimeout(() => chrome.windows.remove(id).catch(() => {}), delayMs);
  }

  // -- the person's answers (from the ceremony window) ------------------------------------------

  async approve(promptId, selected, synced) {
    const params = { id: promptId, approve: true, verified: true };
    if (Number.isInteger(selected)) params.selected = selected;
    if (typeof synced === "boolean") params.synced = synced; // the window's sync choice
    await this.host.request(ACTIONS.PROMPTS_ANSWER, params);
  }

  async unlock(passphrase) {
    await this.host.request(ACTIONS.UNLOCK, { passphrase }, { timeoutMs: 120_000 });
    this.setState(CEREMONY_STATES.STARTING);
    this.retry.resolve();
  }

  retryNow() {
    this.setState(CEREMONY_STATES.STARTING);
    this.retry.resolve();
  }

  fallback() {
    if (!FIREFOX) return this.settle({ fallback: true });
    this.focusThePage().finally(() => this.settle({ fallback: true }));
  }

  // Firefox refuses a WebAuthn call from a page whose window is not the focused one
  // ("CredentialsContainer request is not allowed."): before the page hands its call to Firefox,
  // close this ceremony's window and give the page's window the focus back.
  async focusThePage() {
    await this.windowOpening?.catch(() => {});
    const windowId = this.windowId;
    this.windowId = null;
    if (windowId !== null) await chrome.windows.remove(windowId).catch(() => {});
    const tab = this.tabId == null ? null : await chrome.tabs.get(this.tabId).catch(() => null);
    if (tab) await chrome.windows.update(tab.windowId, { focused: true }).catch(() => {});
  }

  cancel(message = "The user cancelled the request.") {
    this.settle(null, new VauthError(DOM_ERRORS.NOT_ALLOWED, message));
  }

  settle(value, error = null) {
    if (this.settled) return;
    this.settled = true;
    this.state = CEREMONY_STATES.DONE;
    this.error = error ? { code: error.code, message: error.message } : null; // the window says why
    this.broadcast();
    this.retry.resolve();
    if (error) this.outcome.reject(error);
    else this.outcome.resolve(value);
    if (this.daemonBusy) this.callOff();
  }

  // The daemon is still at this ceremony (a prompt, a held presence, or it is on its way there):
  // call it off, so that nothing is signed or made for it.
  callOff() {
    this.host.request(ACTIONS.CANCEL, { ceremonyId: this.id }).catch((error) => {
      console.info("vauth: calling a ceremony off:", error.code, error.message);
    });
  }
}

export function ceremonyByWindow(windowId) {
  for (const ceremony of ceremonies.values()) if (ceremony.windowId === windowId) return ceremony;
  return null;
}
