// vauth's bridge: an ISOLATED-world content script (document_start, all frames). It relays the
// page script's requests to the service worker over one runtime port per request, and the answers
// back. It adds nothing about where the request comes from: the service worker reads that from
// the port's `sender`. The page script hands it a detached DOM node in a synchronous "hello" event
// before any page script runs; from then on they talk only through events on that node.
(() => {
  "use strict";

  // protocol:page-messages begin (a copy of extension/shared/protocol.js; a test keeps it so)
  const PAGE_MESSAGES = {
    HELLO: "vauth:hello",
    BRIDGE_READY: "vauth:bridge-ready",
    REQUEST: "vauth:request",
    CANCEL: "vauth:cancel",
    RESPONSE: "vauth:response",
  };
  const PAGE_OPS = {
    CREATE: "create",
    GET: "get",
    MODE: "mode",
    SIGNAL_UNKNOWN_CREDENTIAL: "signalUnknownCredential",
    SIGNAL_ALL_ACCEPTED_CREDENTIALS: "signalAllAcceptedCredentials",
    SIGNAL_CURRENT_USER_DETAILS: "signalCurrentUserDetails",
    AVAILABLE: "available",
    HANDBACK: "handback",
    HANDBACK_DONE: "handbackDone",
  };
  const MSG = { PAGE_REQUEST: "page.request", PAGE_CANCEL: "page.cancel" };
  const PORTS = { PAGE: "vauth.page", WATCH: "vauth.watch" };
  // protocol:page-messages end

  const OPS = new Set(Object.values(PAGE_OPS));
  const FEATURE = {
    [PAGE_OPS.CREATE]: "publickey-credentials-create",
    [PAGE_OPS.GET]: "publickey-credentials-get",
  };
  const ports = new Map(); // request id -> runtime port
  let channel = null;

  function onHello(event) {
    const node = event.relatedTarget;
    if (channel || !(node instanceof Element) || node.isConnected) return;
    channel = node;
    document.removeEventListener(PAGE_MESSAGES.HELLO, onHello, true);
    channel.addEventListener(PAGE_MESSAGES.REQUEST, onRequest);
    channel.addEventListener(PAGE_MESSAGES.CANCEL, onCancel);
    channel.dispatchEvent(new CustomEvent(PAGE_MESSAGES.BRIDGE_READY));
  }
  document.addEventListener(PAGE_MESSAGES.HELLO, onHello, true);

  // The service worker watches this document while vauth answers a request of its that came
  // the browser's way (proxy mode): the port closes when the document goes away.
  chrome.runtime.onConnect.addListener((port) => {
    if (port.name !== PORTS.WATCH) return port.disconnect();
    port.postMessage({ watching: true });
  });
  // In case the page script ran first: ask it to say hello again.
  document.dispatchEvent(new Event(PAGE_MESSAGES.BRIDGE_READY));

  function reply(message) {
    channel.dispatchEvent(
      new CustomEvent(PAGE_MESSAGES.RESPONSE, { detail: JSON.stringify(message) }),
    );
  }

  const refuse = (id, name, message) => reply({ id, ok: false, error: { name, message } });

  // The permissions policy, read from this world (a page cannot fake it here). Features this
  // browser does not know are not held against the request.
  function allows(feature) {
    const policy = document.permissionsPolicy || document.featurePolicy;
    if (!policy || typeof policy.allowsFeature !== "function") return true;
    try {
      if (typeof policy.features === "function" && !policy.features().includes(feature)) return true;
      return policy.allowsFeature(feature);
    } catch {
      return true;
    }
  }

  function parse(event) {
    try {
      const message = JSON.parse(event.detail);
      return message && typeof message.id === "string" ? message : null;
    } catch {
      return null;
    }
  }

  // A request leaves for the service worker once the page's script has finished what it was
  // doing: one it aborts at once (get() then abort(), in one go) never leaves the page.
  const UNSENT = "unsent";

  function onRequest(event) {
    const message = parse(event);
    if (!message || ports.has(message.id)) return;
    const { id, op, payload } = message;
    if (!OPS.has(op)) return refuse(id, "NotSupportedError", `unknown operation ${op}`);
    if (FEATURE[op] && !allows(FEATURE[op])) {
      return refuse(id, "NotAllowedError",
        `The permissions policy does not allow ${FEATURE[op]} in this frame.`);
    }
    ports.set(id, UNSENT);
    queueMicrotask(() => {
      if (ports.get(id) === UNSENT) send(id, op, payload);
    });
  }

  function send(id, op, payload) {
    let port;
    try {
      port = chrome.runtime.connect({ name: PORTS.PAGE });
    } catch {
      ports.delete(id);
      return refuse(id, "NotAllowedError", "vauth was updated or removed; reload the page.");
    }
    ports.set(id, port);
    port.onMessage.addListener((answer) => {
      if (!answer || answer.id !== id || ports.get(id) !== port) return;
      ports.delete(id);
      port.disconnect();
      reply(answer);
    });
    port.onDisconnect.addListener(() => {
      if (ports.get(id) !== port) return;
      ports.delete(id);
      refuse(id, "NotAllowedError", "vauth stopped before it answered.");
    });
    port.postMessage({ type: MSG.PAGE_REQUEST, id, op, payload: payload ?? {} });
  }

  function onCancel(event) {
    const message = parse(event);
    const port = message && ports.get(message.id);
    if (!port) return;
    ports.delete(message.id);
    if (port === UNSENT) return;
    try {
      port.postMessage({ type: MSG.PAGE_CANCEL, id: message.id });
    } finally {
      port.disconnect();
    }
  }
})();
