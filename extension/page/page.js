// vauth's page script: runs in the page's MAIN world at document_start, before any page script.
// It replaces navigator.credentials.create/get for publicKey requests and a few
// PublicKeyCredential statics, and talks to the bridge (content/bridge.js, ISOLATED world)
// through events on a detached DOM node that only the two of them hold. It never states the
// page's origin: the service worker takes that from the browser (`sender`).
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
  };
  // protocol:page-messages end

  if (typeof PublicKeyCredential !== "function" || !navigator.credentials) return;

  // -- everything needed later, captured before the page can change it --------------------------
  const uncurry = Function.prototype.bind.bind(Function.prototype.call);
  const getter = (proto, name) => uncurry(Object.getOwnPropertyDescriptor(proto, name).get);
  const PKC = PublicKeyCredential;
  const Attestation = globalThis.AuthenticatorAttestationResponse;
  const Assertion = globalThis.AuthenticatorAssertionResponse;
  const Container = CredentialsContainer;
  const container = navigator.credentials;
  const originalCreate = uncurry(Container.prototype.create);
  const originalGet = uncurry(Container.prototype.get);
  const originalStatics = {};
  for (const name of [
    "getClientCapabilities",
    "signalUnknownCredential",
    "signalAllAcceptedCredentials",
    "signalCurrentUserDetails",
  ]) {
    if (typeof PKC[name] === "function") originalStatics[name] = uncurry(PKC[name]);
  }
  const { create: objectCreate, defineProperty, keys: objectKeys, freeze } = Object;
  const isArray = Array.isArray;
  const hasOwn = uncurry(Object.prototype.hasOwnProperty);
  const jsonParse = JSON.parse;
  const jsonStringify = JSON.stringify;
  const SafePromise = Promise;
  const then = uncurry(Promise.prototype.then);
  const resolved = (value) => new SafePromise((resolve) => resolve(value));
  const SafeDOMException = DOMException;
  const SafeTypeError = TypeError;
  const SafeArrayBuffer = ArrayBuffer;
  const SafeUint8Array = Uint8Array;
  const SafeCustomEvent = CustomEvent;
  const SafeMouseEvent = MouseEvent;
  const SafeString = String;
  const isView = ArrayBuffer.isView;
  const arrayBufferByteLength = getter(ArrayBuffer.prototype, "byteLength");
  const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
  const viewBuffer = getter(typedArrayProto, "buffer");
  const viewOffset = getter(typedArrayProto, "byteOffset");
  const viewLength = getter(typedArrayProto, "byteLength");
  const dataViewBuffer = getter(DataView.prototype, "buffer");
  const dataViewOffset = getter(DataView.prototype, "byteOffset");
  const dataViewLength = getter(DataView.prototype, "byteLength");
  const charCodeAt = uncurry(String.prototype.charCodeAt);
  const fromCharCode = String.fromCharCode;
  const addListener = uncurry(EventTarget.prototype.addEventListener);
  const removeListener = uncurry(EventTarget.prototype.removeEventListener);
  const dispatch = uncurry(EventTarget.prototype.dispatchEvent);
  const eventDetail = getter(CustomEvent.prototype, "detail");
  const eventTarget = getter(Event.prototype, "target");
  const createElement = uncurry(Document.prototype.createElement);
  const getAttribute = uncurry(Element.prototype.getAttribute);
  const regexExec = uncurry(RegExp.prototype.exec);
  const WEBAUTHN_TOKEN = /(^|\s)webauthn(\s|$)/i;
  const activeElementOf = getter(Document.prototype, "activeElement");
  const signalAborted = getter(AbortSignal.prototype, "aborted");
  const signalReason = hasOwn(AbortSignal.prototype, "reason")
    ? getter(AbortSignal.prototype, "reason")
    : () => undefined;
  const setTimer = setTimeout;
  const clearTimer = clearTimeout;
  const getRandomValues = uncurry(Crypto.prototype.getRandomValues);
  const cryptoObject = crypto;
  const doc = document;
  // WebAuthn refuses a document with an opaque origin (a sandboxed page or frame, a data:
  // document) as Chromium does; read before any page script runs. The service worker refuses too.
  const opaqueOrigin = globalThis.origin === "null";
  const opaqueOriginError = () => new SafeDOMException(
    "The current origin is an opaque origin and hence not allowed to access 'PublicKeyCredential' objects.",
    "NotAllowedError");

  // -- base64url, without atob/btoa ----------------------------------------------------------------
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const LOOKUP = objectCreate(null);
  for (let i = 0; i < 64; i++) LOOKUP[ALPHABET[i]] = i;

  function b64urlEncode(bytes) {
    let out = "";
    const n = bytes.length;
    for (let i = 0; i < n; i += 3) {
      const a = bytes[i], b = i + 1 < n ? bytes[i + 1] : 0, c = i + 2 < n ? bytes[i + 2] : 0;
      out += ALPHABET[a >> 2] + ALPHABET[((a & 3) << 4) | (b >> 4)];
      if (i + 1 < n) out += ALPHABET[((b & 15) << 2) | (c >> 6)];
      if (i + 2 < n) out += ALPHABET[c & 63];
    }
    return out;
  }

  function b64urlDecode(text) {
    if (typeof text !== "string") throw new SafeDOMException("not base64url text", "EncodingError");
    let end = text.length;
    while (end > 0 && text[end - 1] === "=") end--;
    if (end % 4 === 1) throw new SafeDOMException("not base64url text", "EncodingError");
    const bytes = new SafeUint8Array((end * 3) >> 2);
    let bits = 0, value = 0, j = 0;
    for (let i = 0; i < end; i++) {
      const v = LOOKUP[text[i]];
      if (v === undefined) throw new SafeDOMException("not base64url text", "EncodingError");
      value = (value << 6) | v;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        bytes[j++] = (value >> bits) & 255;
      }
    }
    return viewBuffer(bytes);
  }

  // -- options -> WebAuthn L3 JSON ----------------------------------------------------------------
  function bytesOf(value) {
    if (isView(value)) {
      let buffer, offset, length;
      try {
        buffer = viewBuffer(value), offset = viewOffset(value), length = viewLength(value);
      } catch {
        buffer = dataViewBuffer(value), offset = dataViewOffset(value), length = dataViewLength(value);
      }
      return new SafeUint8Array(buffer, offset, length);
    }
    try {
      arrayBufferByteLength(value); // brand check: throws unless an ArrayBuffer
    } catch {
      return null;
    }
    return new SafeUint8Array(value);
  }

  // BufferSources become base64url; dictionaries and sequences are walked; functions dropped.
  function toJSONValue(value, depth) {
    if (depth > 32) throw new SafeTypeError("options nest too deeply");
    if (value === null || typeof value !== "object") {
      return typeof value === "function" || typeof value === "symbol" ? undefined : value;
    }
    const bytes = bytesOf(value);
    if (bytes !== null) return b64urlEncode(bytes);
    if (isArray(value)) {
      const out = [];
      for (let i = 0; i < value.length; i++) out[i] = toJSONValue(value[i], depth + 1);
      return out;
    }
    const out = {};
    const names = objectKeys(value);
    for (let i = 0; i < names.length; i++) {
      const converted = toJSONValue(value[names[i]], depth + 1);
      if (converted !== undefined) defineProperty(out, names[i], plain(converted));
    }
    return out;
  }

  const plain = (value) => ({ value, enumerable: true, writable: true, configurable: true });

  // -- results -> objects real relying-party code accepts -----------------------------------------
  const own = (value) => ({ value, enumerable: true, writable: false, configurable: true });
  const method = (fn) => ({ value: fn, enumerable: false, writable: true, configurable: true });
  const copy = (json) => jsonParse(jsonStringify(json));
  const optionalBuffer = (text) => (typeof text === "string" ? b64urlDecode(text) : null);

  function attestationResponse(r) {
    const response = objectCreate(Attestation.prototype);
    const authenticatorData = b64urlDecode(r.authenticatorData);
    const publicKey = optionalBuffer(r.publicKey);
    const transports = isArray(r.transports) ? copy(r.transports) : [];
    defineProperty(response, "clientDataJSON", own(b64urlDecode(r.clientDataJSON)));
    defineProperty(response, "attestationObject", own(b64urlDecode(r.attestationObject)));
    defineProperty(response, "getTransports", method(() => copy(transports)));
    defineProperty(response, "getAuthenticatorData", method(() => authenticatorData));
    defineProperty(response, "getPublicKey", method(() => publicKey));
    defineProperty(response, "getPublicKeyAlgorithm", method(() => r.publicKeyAlgorithm));
    return response;
  }

  function assertionResponse(r) {
    const response = objectCreate(Assertion.prototype);
    defineProperty(response, "clientDataJSON", own(b64urlDecode(r.clientDataJSON)));
    defineProperty(response, "authenticatorData", own(b64urlDecode(r.authenticatorData)));
    defineProperty(response, "signature", own(b64urlDecode(r.signature)));
    defineProperty(response, "userHandle", own(optionalBuffer(r.userHandle)));
    defineProperty(response, "attestationObject", own(optionalBuffer(r.attestationObject)));
    return response;
  }

  // WebAuthn's ArrayBuffer-valued client extension outputs arrive as base64url.
  function extensionResults(json) {
    const results = copy(json || {});
    const decode = (holder, name) => {
      if (holder && typeof holder[name] === "string") holder[name] = b64urlDecode(holder[name]);
    };
    if (results.prf) decode(results.prf.results, "first"), decode(results.prf.results, "second");
    decode(results.largeBlob, "blob");
    decode(results, "getCredBlob");
    decode(results.hmacGetSecret, "output1"), decode(results.hmacGetSecret, "output2");
    return results;
  }

  function credentialFrom(kind, json) {
    const frozenJSON = copy(json);
    const credential = objectCreate(PKC.prototype);
    const response =
      kind === PAGE_OPS.CREATE ? attestationResponse(json.response) : assertionResponse(json.response);
    defineProperty(credential, "id", own(json.id));
    defineProperty(credential, "rawId", own(b64urlDecode(json.rawId)));
    defineProperty(credential, "type", own(json.type));
    defineProperty(credential, "response", own(response));
    defineProperty(credential, "authenticatorAttachment", own(json.authenticatorAttachment ?? null));
    defineProperty(credential, "getClientExtensionResults", method(() =>
      extensionResults(frozenJSON.clientExtensionResults)));
    defineProperty(credential, "toJSON", method(() => copy(frozenJSON)));
    return credential;
  }

  function pageError(error) {
    const name = error && typeof error.name === "string" ? error.name : "NotAllowedError";
    const message = error && typeof error.message === "string" ? error.message : "";
    if (name === "TypeError") return new SafeTypeError(message);
    return new SafeDOMException(message, name);
  }

  const abortError = (signal) => {
    const reason = signalReason(signal);
    return reason !== undefined ? reason : new SafeDOMException("The operation was aborted.", "AbortError");
  };
  const notAllowed = () =>
    new SafeDOMException("The operation either timed out or was not allowed.", "NotAllowedError");

  // -- the channel to the bridge --------------------------------------------------------------------
  const channel = createElement(doc, "vauth-channel"); // detached: no page script can reach it
  const pending = objectCreate(null);
  let connected = false;

  addListener(channel, PAGE_MESSAGES.BRIDGE_READY, () => { connected = true; });
  addListener(channel, PAGE_MESSAGES.RESPONSE, (event) => {
    let message;
    try {
      message = jsonParse(eventDetail(event));
    } catch {
      return;
    }
    const handler = message && typeof message.id === "string" ? pending[message.id] : undefined;
    if (handler) {
      delete pending[message.id];
      handler(message);
    }
  });
  const hello = () => dispatch(doc, new SafeMouseEvent(PAGE_MESSAGES.HELLO, { relatedTarget: channel }));
  const onBridgeReady = () => {
    if (!connected) hello();
    if (connected) removeListener(doc, PAGE_MESSAGES.BRIDGE_READY, onBridgeReady, true);
  };
  addListener(doc, PAGE_MESSAGES.BRIDGE_READY, onBridgeReady, true);
  hello();
  if (connected) removeListener(doc, PAGE_MESSAGES.BRIDGE_READY, onBridgeReady, true);

  function newId() {
    const bytes = new SafeUint8Array(12);
    getRandomValues(cryptoObject, bytes);
    return b64urlEncode(bytes);
  }

  const post = (type, message) =>
    dispatch(channel, new SafeCustomEvent(type, { detail: jsonStringify(message) }));

  // One request to the service worker; `onReply` gets {ok, result} | {ok: false, error} | {fallback}.
  function send(op, payload, onReply) {
    const id = newId();
    if (!connected) {
      onReply({ ok: false, error: { name: "NotAllowedError", message: "vauth's bridge is not loaded" } });
      return () => {};
    }
    pending[id] = onReply;
    post(PAGE_MESSAGES.REQUEST, { id, op, payload });
    return () => {
      if (!pending[id]) return;
      delete pending[id];
      post(PAGE_MESSAGES.CANCEL, { id });
    };
  }

  // -- create / get ---------------------------------------------------------------------------------
  const TIMEOUT_DEFAULT_MS = 300000, TIMEOUT_MIN_MS = 15000, TIMEOUT_MAX_MS = 600000;

  function timeoutOf(publicKey) {
    const t = publicKey.timeout;
    if (typeof t !== "number" || !(t > 0)) return TIMEOUT_DEFAULT_MS;
    return t < TIMEOUT_MIN_MS ? TIMEOUT_MIN_MS : t > TIMEOUT_MAX_MS ? TIMEOUT_MAX_MS : t;
  }

  function ceremony(kind, options) {
    const fallback = () => (kind === PAGE_OPS.CREATE ? originalCreate : originalGet)(container, options);
    return new SafePromise((resolve, reject) => {
      const signal = options.signal;
      if (signal != null && signalAborted(signal)) return reject(abortError(signal));
      let publicKey;
      try {
        publicKey = toJSONValue(options.publicKey, 0);
      } catch (error) {
        return reject(error);
      }
      if (publicKey === null || typeof publicKey !== "object" || isArray(publicKey)) {
        return reject(new SafeTypeError("publicKey must be a dictionary"));
      }
      if (opaqueOrigin) return reject(opaqueOriginError());
      if (kind === PAGE_OPS.GET && options.mediation === "conditional") {
        return conditional(options, publicKey, resolve, reject);
      }
      let settled = false, cancel = () => {}, timer;
      const onAbort = () => finish(reject, abortError(signal), true);
      function finish(how, value, cancelRequest) {
        if (settled) return;
        settled = true;
        clearTimer(timer);
        if (signal != null) removeListener(signal, "abort", onAbort);
        if (cancelRequest) cancel();
        how(value);
      }
      timer = setTimer(() => finish(reject, notAllowed(), true), timeoutOf(publicKey) + 5000);
      if (signal != null) addListener(signal, "abort", onAbort);
      cancel = send(kind, { options: publicKey }, (reply) => {
        if (reply.fallback) {
          let promise;
          try {
            promise = fallback();
          } catch (error) {
            return finish(reject, error);
          }
          return finish(resolve, promise);
        }
        if (!reply.ok) return finish(reject, pageError(reply.error));
        try {
          finish(resolve, credentialFrom(kind, reply.result));
        } catch (error) {
          finish(reject, pageError({ name: "UnknownError", message: SafeString(error) }));
        }
      });
    });
  }

  // mediation "conditional": wait for the user to focus a field whose autocomplete has "webauthn",
  // then offer vauth's passkeys (the ceremony window's account chooser). A dismissal re-arms.
  function conditional(options, publicKey, resolve, reject) {
    const signal = options.signal;
    let settled = false, cancel = () => {}, armed = false;
    const onAbort = () => finish(reject, abortError(signal));
    function finish(how, value) {
      if (settled) return;
      settled = true;
      disarm();
      cancel();
      if (signal != null) removeListener(signal, "abort", onAbort);
      how(value);
    }
    const browser = () => finish(resolve, originalGet(container, options));
    function wantsPasskeys(element) {
      if (!element || typeof element !== "object") return false;
      let token;
      try {
        token = getAttribute(element, "autocomplete");
      } catch {
        return false;
      }
      return typeof token === "string" && regexExec(WEBAUTHN_TOKEN, token) !== null;
    }
    const onFocus = (event) => offer(eventTarget(event));
    function offer(element) {
      if (settled || !wantsPasskeys(element)) return;
      disarm();
      cancel = send(PAGE_OPS.GET, { options: publicKey, conditional: true }, (reply) => {
        cancel = () => {};
        if (settled) return;
        if (reply.fallback) return browser();
        if (reply.ok) {
          try {
            return finish(resolve, credentialFrom(PAGE_OPS.GET, reply.result));
          } catch (error) {
            return finish(reject, pageError({ name: "UnknownError", message: SafeString(error) }));
          }
        }
        if (reply.error && reply.error.name === "NotAllowedError") return arm(); // dismissed
        finish(reject, pageError(reply.error));
      });
    }
    function arm() {
      if (armed || settled) return;
      armed = true;
      addListener(doc, "focusin", onFocus, true);
    }
    function disarm() {
      if (!armed) return;
      armed = false;
      removeListener(doc, "focusin", onFocus, true);
    }
    if (signal != null) addListener(signal, "abort", onAbort);
    cancel = send(PAGE_OPS.MODE, {}, (reply) => {
      cancel = () => {};
      if (settled) return;
      if (reply.ok && reply.result && reply.result.choice === "browser") return browser();
      arm();
      offer(activeElementOf(doc));
    });
  }

  function isPublicKeyRequest(options) {
    return options !== null && typeof options === "object" && options.publicKey != null;
  }

  const replacements = {
    create(options) {
      if (this !== container || !isPublicKeyRequest(options) || options.mediation === "conditional") {
        return originalCreate(this, options);
      }
      return ceremony(PAGE_OPS.CREATE, options);
    },
    get(options) {
      if (this !== container || !isPublicKeyRequest(options) || options.mediation === "silent") {
        return originalGet(this, options);
      }
      return ceremony(PAGE_OPS.GET, options);
    },
  };
  defineProperty(Container.prototype, "create", method(replacements.create));
  defineProperty(Container.prototype, "get", method(replacements.get));

  // -- PublicKeyCredential statics --------------------------------------------------------------------
  const VAUTH_CAPABILITIES = freeze([
    "conditionalGet",
    "signalAllAcceptedCredentials",
    "signalCurrentUserDetails",
    "signalUnknownCredential",
    "extension:credBlob",
    "extension:credProps",
    "extension:credentialProtectionPolicy",
    "extension:enforceCredentialProtectionPolicy",
    "extension:getCredBlob",
    "extension:largeBlob",
    "extension:minPinLength",
    "extension:prf",
  ]);

  function request(op, payload) {
    return new SafePromise((resolve, reject) => {
      send(op, payload, (reply) => (reply.ok ? resolve(reply.result) : reject(pageError(reply.error))));
    });
  }

  const statics = {
    isConditionalMediationAvailable() {
      return resolved(true);
    },
    getClientCapabilities() {
      const original = originalStatics.getClientCapabilities;
      const browser = original ? then(original(PKC), undefined, () => ({})) : resolved({});
      return then(browser, (capabilities) => {
        const merged = {};
        const names = objectKeys(capabilities || {});
        for (let i = 0; i < names.length; i++) merged[names[i]] = capabilities[names[i]];
        for (let i = 0; i < VAUTH_CAPABILITIES.length; i++) merged[VAUTH_CAPABILITIES[i]] = true;
        return merged;
      });
    },
  };

  // The Signal API: validate as WebAuthn says (TypeError), tell the browser's own authenticators
  // too, and let vauth fix or remove its stale passkeys (the service worker checks the rpId).
  function signal(name, options, fields) {
    return new SafePromise((resolve, reject) => {
      if (options === null || typeof options !== "object") {
        return reject(new SafeTypeError(`${name}: options must be a dictionary`));
      }
      const payload = {};
      try {
        for (let i = 0; i < fields.length; i++) {
          const field = fields[i][0], kind = fields[i][1];
          const value = options[field];
          if (kind === "ids") {
            if (!isArray(value)) throw new SafeTypeError(`${field} must be a list`);
            const ids = [];
            for (let j = 0; j < value.length; j++) {
              b64urlDecode(SafeString(value[j]));
              ids[j] = SafeString(value[j]);
            }
            payload[field] = ids;
          } else {
            if (value === undefined) throw new SafeTypeError(`${field} is required`);
            payload[field] = SafeString(value);
            if (kind === "b64") b64urlDecode(payload[field]);
          }
        }
      } catch (error) {
        return reject(error && error.name === "EncodingError" ? new SafeTypeError(error.message) : error);
      }
      if (opaqueOrigin) return reject(opaqueOriginError());
      const original = originalStatics[name];
      if (original) then(then(resolved(undefined), () => original(PKC, options)), undefined, () => {});
      // Only a bad rpId (SecurityError) or argument (TypeError) fails a signal: vauth being
      // away or locked does not concern the page.
      then(request(name, payload), () => resolve(undefined), (error) =>
        error && (error.name === "SecurityError" || error.name === "TypeError") ? reject(error) : resolve(undefined));
    });
  }

  statics.signalUnknownCredential = function signalUnknownCredential(options) {
    return signal(PAGE_OPS.SIGNAL_UNKNOWN_CREDENTIAL, options, [["rpId"], ["credentialId", "b64"]]);
  };
  statics.signalAllAcceptedCredentials = function signalAllAcceptedCredentials(options) {
    return signal(PAGE_OPS.SIGNAL_ALL_ACCEPTED_CREDENTIALS, options,
      [["rpId"], ["userId", "b64"], ["allAcceptedCredentialIds", "ids"]]);
  };
  statics.signalCurrentUserDetails = function signalCurrentUserDetails(options) {
    return signal(PAGE_OPS.SIGNAL_CURRENT_USER_DETAILS, options,
      [["rpId"], ["userId", "b64"], ["name"], ["displayName"]]);
  };

  for (const name of objectKeys(statics)) defineProperty(PKC, name, method(statics[name]));
})();
