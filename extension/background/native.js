// The one persistent native-messaging port to dev.vauth.host: request ids, a timeout per request,
// reassembly of chunked replies (the host splits replies over 1 MiB), reconnection on demand.
import { ERRORS, HOST_NAME } from "../shared/protocol.js";
import { VauthError } from "./errors.js";

const DEFAULT_TIMEOUT_MS = 30_000;

export class NativeHost {
  constructor(name = HOST_NAME) {
    this.name = name;
    this.port = null;
    this.pending = new Map(); // id -> {resolve, reject, timer, chunks}
    this.counter = 0;
  }

  connect() {
    if (this.port) return this.port;
    const port = chrome.runtime.connectNative(this.name);
    port.onMessage.addListener((message) => this.receive(message));
    port.onDisconnect.addListener(() => {
      const reason = chrome.runtime.lastError?.message || "the native host closed its port";
      if (this.port === port) this.port = null;
      this.failAll(new VauthError(ERRORS.HOST_UNAVAILABLE, `vauth's native host is unavailable: ${reason}`));
    });
    this.port = port;
    return port;
  }

  request(action, params = {}, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    const id = `${Date.now().toString(36)}.${++this.counter}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new VauthError(ERRORS.TIMEOUT, `${action} got no answer in ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, chunks: null });
      try {
        this.connect().postMessage({ id, action, params });
      } catch (error) {
        this.port = null;
        this.settle(id, { ok: false, error: { code: ERRORS.HOST_UNAVAILABLE, message: String(error?.message || error) } });
      }
    });
  }

  receive(message) {
    if (!message || typeof message !== "object") return;
    const entry = this.pending.get(message.id);
    if (!entry) {
      if (!message.ok && message.error) console.warn("vauth host:", message.error.code, message.error.message);
      return;
    }
    if (message.progress) return; // a progress note: nothing here asks for them
    if (Number.isInteger(message.chunk) && Number.isInteger(message.chunks)) return this.chunk(entry, message);
    this.settle(message.id, message);
  }

  chunk(entry, message) {
    entry.chunks ??= new Array(message.chunks).fill(null);
    entry.chunks[message.chunk] = String(message.data ?? "");
    if (entry.chunks.some((part) => part === null)) return;
    let reply;
    try {
      reply = JSON.parse(entry.chunks.join(""));
    } catch {
      reply = { ok: false, error: { code: ERRORS.BAD_MESSAGE, message: "a chunked reply did not parse" } };
    }
    this.settle(message.id, reply);
  }

  settle(id, reply) {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    if (reply.ok) entry.resolve(reply.result);
    else entry.reject(new VauthError(reply.error?.code ?? ERRORS.INTERNAL, reply.error?.message ?? "", reply.error ?? {}));
  }

  failAll(error) {
    for (const [id, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(error);
      this.pending.delete(id);
    }
  }
}
