// vauth's bridge: an ISOLATED-world content script (document_start, all frames). It relays the
// page script's requests to the service worker over one runtime port per document, and the
// answers back. It adds nothing about where the request comes from: the service worker reads that from
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

  // The permissions policy, read from this world (a page cannot fake it here), once: a
  // document's policy does not change. Features this browser does not know are not held
  // against the request.
  const allowed = new Map(); // feature -> boolean
  const allows = (feature) => {
    if (!allowed.has(feature)) allowed.set(feature, policyAllows(feature));
    return allowed.get(feature);
  };
  function policyAllows(feature) {
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

  // ONE port to the service worker for this document, opened when first needed (and again
  // after the worker stopped): requests and answers carry ids. Its closing tells the worker the
  // document went away. A request leaves once the page's script has finished what it was doing:
  // one it aborts at once (get() then abort(), in one go) never leaves the page.
  const UNSENT = "unsent";
  const requests = new Map(); // request id -> UNSENT | the port it went on
  let port = null;

  function worker() {
    if (port) return port;
    const opened = chrome.runtime.connect({ name: PORTS.PAGE });
    opened.onMessage.addListener((answer) => {
      if (!answer || requests.get(answer.id) !== opened) return;
      requests.delete(answer.id);
      reply(answer);
    });
    opened.onDisconnect.addListener(() => {
      if (port === opened) port = null;
      for (const [id, state] of requests) {
        if (state !== opened) continue;
        requests.delete(id);
        refuse(id, "NotAllowedError", "vauth stopped before it answered.");
      }
    });
    return (port = opened);
  }

  function onRequest(event) {
    const message = parse(event);
    if (!message || requests.has(message.id)) return;
    const { id, op, payload } = message;
    if (!OPS.has(op)) return refuse(id, "NotSupportedError", `unknown operation ${op}`);
    if (FEATURE[op] && !allows(FEATURE[op])) {
      return refuse(id, "NotAllowedError",
        `The permissions policy does not allow ${FEATURE[op]} in this frame.`);
    }
    requests.set(id, UNSENT);
    queueMicrotask(() => {
      if (requests.get(id) === UNSENT) send(id, op, payload);
    });
  }

  // A port the worker closed (it stopped) is not always known closed yet here: one that refuses
  // the message is given up, and a new one tried once.
  function send(id, op, payload) {
    const message = { type: MSG.PAGE_REQUEST, id, op, payload: payload ?? {} };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const sent = worker();
        sent.postMessage(message);
        requests.set(id, sent);
        return;
      } catch {
        port = null;
      }
    }
    requests.delete(id);
    refuse(id, "NotAllowedError", "vauth was updated or removed; reload the page.");
  }

  function onCancel(event) {
    const message = parse(event);
    const state = message && requests.get(message.id);
    if (!state) return;
    requests.delete(message.id);
    if (state === UNSENT) return;
    try {
      state.postMessage({ type: MSG.PAGE_CANCEL, id: message.id });
    } catch {
      // the worker stopped: its ceremonies with it
    }
  }
})();
