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
    AVAILABLE: "available",
    HANDBACK: "handback",
    HANDBACK_DONE: "handbackDone",
  };
  const PROXY = {
    HANDBACK_ERROR: "NotAllowedError",
    HANDBACK_MESSAGE: "vauth handed this request back to the browser.",
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
    "isUserVerifyingPlatformAuthenticatorAvailable",
    "signalUnknownCredential",
    "signalAllAcceptedCredentials",
    "signalCurrentUserDetails",
  ]) {
    if (typeof PKC[name] === "function") originalStatics[name] = uncurry(PKC[name]);
  }
  const { create: objectCreate, defineProperty, keys: objectKeys, freeze, setPrototypeOf } = Object;
  const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const { apply: reflectApply, ownKeys: reflectOwnKeys } = Reflect;
  const SymbolIterator = Symbol.iterator;
  const mathTrunc = Math.trunc;
  const toWellFormed = String.prototype.toWellFormed ? uncurry(String.prototype.toWellFormed) : null;
  const isArray = Array.isArray;
  const hasOwn = uncurry(Object.prototype.hasOwnProperty);
  const jsonParse = JSON.parse;
  const jsonStringify = JSON.stringify;
  const SafePromise = Promise;
  const then = uncurry(Promise.prototype.then);
  const resolved = (value) => new SafePromise((resolve) => resolve(value));
  const SafeDOMException = DOMException;
  const domExceptionName = getter(DOMException.prototype, "name");
  const domExceptionMessage = getter(DOMException.prototype, "message");
  const SafeTypeError = TypeError;
  const SafeArrayBuffer = ArrayBuffer;
  const SafeUint8Array = Uint8Array;
  const SafeCustomEvent = CustomEvent;
  const SafeMouseEvent = MouseEvent;
  const SafeString = String;
  const isView = ArrayBuffer.isView;
  const arrayBufferByteLength = getter(ArrayBuffer.prototype, "byteLength");
  const arrayBufferResizable = hasOwn(ArrayBuffer.prototype, "resizable")
    ? getter(ArrayBuffer.prototype, "resizable")
    : null;
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
  const SafeWeakMap = WeakMap;
  const arraySort = uncurry(Array.prototype.sort);
  const stringIndexOf = uncurry(String.prototype.indexOf);
  const stringSlice = uncurry(String.prototype.slice);
  // WebAuthn refuses a document with an opaque origin (a sandboxed page or frame, a data:
  // document) as Chromium does; read before any page script runs. The service worker refuses too.
  const opaqueOrigin = globalThis.origin === "null";
  // Firefox refuses such a document its own way (SecurityError): there, a ceremony from an opaque
  // origin goes to Firefox itself, which answers as it always does, and vauth never sees it.
  const firefox = / Firefox\/\d/.test(navigator.userAgent);
  const opaqueOriginError = () => new SafeDOMException(
    "The current origin is an opaque origin and hence not allowed to access 'PublicKeyCredential' objects.",
    "NotAllowedError");

  // -- replacements that read as the browser's own ----------------------------------------------
  // Each function vauth puts where the browser had one has the browser's name, length and
  // attributes, and Function.prototype.toString gives the browser's text for it
  // ("function get() { [native code] }"), as for the one it stands for.
  const nativeSource = new SafeWeakMap(); // vauth's function -> the browser's text for it
  const sourceOf = uncurry(SafeWeakMap.prototype.get);
  const setSource = uncurry(SafeWeakMap.prototype.set);
  const functionToString = Function.prototype.toString;
  const textOf = uncurry(functionToString);
  const disguise = (replacement, original) => setSource(nativeSource, replacement, textOf(original));
  const toStringReplacement = {
    toString() {
      const text = sourceOf(nativeSource, this);
      return text !== undefined ? text : reflectApply(functionToString, this, []);
    },
  }.toString;
  disguise(toStringReplacement, functionToString);
  defineProperty(Function.prototype, "toString", {
    ...getOwnPropertyDescriptor(Function.prototype, "toString"),
    value: toStringReplacement,
  });

  // Put `replacement` where `holder[name]` is, with that property's attributes; where the browser
  // has none, as a WebIDL operation (enumerable, writable, configurable).
  function replaceOperation(target, name, replacement) {
    const d = getOwnPropertyDescriptor(target, name);
    if (d && typeof d.value === "function") disguise(replacement, d.value);
    else setSource(nativeSource, replacement, nativeText(name));
    defineProperty(target, name, {
      value: replacement,
      writable: d ? d.writable : true,
      enumerable: d ? d.enumerable : true,
      configurable: d ? d.configurable : true,
    });
  }
  // The browser's text for a native function named `name` (its own format, from one it has).
  const nativeText = (name) => {
    const call = textOf(Function.prototype.call);
    const at = stringIndexOf(call, "call");
    return stringSlice(call, 0, at) + name + stringSlice(call, at + 4);
  };

  // -- base64url, without atob/btoa ----------------------------------------------------------------
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const LOOKUP = objectCreate(null);
  for (let i = 0; i < 64; i++) LOOKUP[ALPHABET[i]] = i;

  function b64urlEncode(bytes) {
    let out = "";
    const n = viewLength(bytes);
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

  // -- options -> WebAuthn L3 JSON, converted as WebIDL and Chromium do ------------------------------
  // WebIDL §3.2 (JavaScript binding) for the dictionaries of WebAuthn L3 §5.4/§5.5/§5.8/§10 as
  // Chromium declares them (third_party/blink/renderer/modules/credentialmanagement/*.idl):
  // a member missing or of the wrong type is a TypeError before anything else happens, and a
  // BufferSource must be an ArrayBuffer or a view of one, never base64url text.
  const typeError = (path, what) => new SafeTypeError(`${path} ${what}`);
  const isObject = (value) => value !== null && (typeof value === "object" || typeof value === "function");
  const plain = (value) => ({ value, enumerable: true, writable: true, configurable: true });
  // Null-prototype holders: JSON.stringify finds no page-defined toJSON or index setter on them.
  const holder = () => objectCreate(null);
  const list = () => setPrototypeOf([], null);

  const domString = (value) => `${value}`; // ToString: a Symbol throws TypeError
  function usvString(value) {
    const text = domString(value);
    if (toWellFormed) return toWellFormed(text);
    let out = "";
    for (let i = 0; i < text.length; i++) {
      const c = charCodeAt(text, i);
      const next = i + 1 < text.length ? charCodeAt(text, i + 1) : 0;
      if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += fromCharCode(c, next);
        i++;
      } else {
        out += c >= 0xd800 && c <= 0xdfff ? "\ufffd" : fromCharCode(c);
      }
    }
    return out;
  }
  const boolean = (value) => !!value;
  function integer(value) { // ToNumber (a Symbol or BigInt throws TypeError), then IntegerPart mod 2^32
    const n = +value;
    if (n !== n || n === Infinity || n === -Infinity) return 0;
    const whole = mathTrunc(n) % 4294967296;
    return whole < 0 ? whole + 4294967296 : whole + 0;
  }
  const unsignedLong = (value) => integer(value);
  const long = (value) => { const n = integer(value); return n >= 2147483648 ? n - 4294967296 : n; };

  // BufferSource: an ArrayBuffer or ArrayBufferView, not shared and not resizable (no
  // [AllowShared]/[AllowResizable]); a detached one reads as empty. Out: base64url of a copy.
  function bufferSource(value, path) {
    if (!isObject(value)) throw typeError(path, "is not an ArrayBuffer or ArrayBufferView");
    let buffer = value, offset = 0, length;
    if (isView(value)) {
      try {
        buffer = viewBuffer(value), offset = viewOffset(value), length = viewLength(value);
      } catch {
        buffer = dataViewBuffer(value);
        try {
          offset = dataViewOffset(value), length = dataViewLength(value);
        } catch {
          length = 0; // a DataView of a detached buffer
        }
      }
    }
    let total;
    try {
      total = arrayBufferByteLength(buffer); // brand check: throws for anything but an ArrayBuffer
    } catch {
      throw typeError(path, "is not an ArrayBuffer or ArrayBufferView");
    }
    if (arrayBufferResizable && arrayBufferResizable(buffer)) throw typeError(path, "is a resizable ArrayBuffer");
    if (length === undefined) length = total;
    if (length === 0) return "";
    return b64urlEncode(new SafeUint8Array(buffer, offset, length));
  }

  // sequence<T>: any iterable, walked with its own iterator, as WebIDL §3.2.18 does.
  const sequence = (convert) => (value, path) => {
    if (!isObject(value)) throw typeError(path, "is not a sequence");
    const method = value[SymbolIterator];
    if (typeof method !== "function") throw typeError(path, "is not iterable");
    const iterator = reflectApply(method, value, []);
    if (!isObject(iterator)) throw typeError(path, "has a broken iterator");
    const next = iterator.next;
    const out = list();
    for (let i = 0; ; i++) {
      const step = reflectApply(next, iterator, []);
      if (!isObject(step)) throw typeError(path, "has a broken iterator");
      if (step.done) return out;
      defineProperty(out, i, plain(convert(step.value, `${path}[${i}]`)));
    }
  };

  // record<USVString, T>: own enumerable keys, each converted (a Symbol key is a TypeError).
  const record = (convert) => (value, path) => {
    if (!isObject(value)) throw typeError(path, "is not an object");
    const out = holder();
    const keys = reflectOwnKeys(value);
    for (let i = 0; i < keys.length; i++) {
      const descriptor = getOwnPropertyDescriptor(value, keys[i]);
      if (!descriptor || !descriptor.enumerable) continue;
      const key = usvString(keys[i]);
      defineProperty(out, key, plain(convert(value[keys[i]], `${path}[${jsonStringify(key)}]`)));
    }
    return out;
  };

  // dictionary: members in lexicographic order (inherited ones first), each read once.
  // members: [[name, convert, required], ...]; undefined means "not present".
  const dictionary = (members) => (value, path) => {
    if (value !== undefined && value !== null && !isObject(value)) throw typeError(path, "is not a dictionary");
    const out = holder();
    for (let i = 0; i < members.length; i++) {
      const name = members[i][0], convert = members[i][1], required = members[i][2];
      const member = value === undefined || value === null ? undefined : value[name];
      if (member === undefined) {
        if (required) throw typeError(`${path}.${name}`, "is required");
        continue;
      }
      defineProperty(out, name, plain(convert(member, `${path}.${name}`)));
    }
    return out;
  };

  const REQUIRED = true;
  const descriptor = dictionary([
    ["id", bufferSource, REQUIRED],
    ["transports", sequence(domString)],
    ["type", domString, REQUIRED],
  ]);
  const prfValues = dictionary([["first", bufferSource, REQUIRED], ["second", bufferSource]]);
  // Chromium 156's AuthenticationExtensionsClientInputs, less its members vauth does not take
  // (cableAuthentication, payment, remoteDesktopClientOverride, supplementalPubKeys).
  const extensionInputs = dictionary([
    ["appid", usvString],
    ["appidExclude", usvString],
    ["credBlob", bufferSource],
    ["credProps", boolean],
    ["credentialProtectionPolicy", usvString],
    ["enforceCredentialProtectionPolicy", boolean],
    ["getCredBlob", boolean],
    ["hmacCreateSecret", boolean],
    ["largeBlob", dictionary([["read", boolean], ["support", domString], ["write", bufferSource]])],
    ["minPinLength", boolean],
    ["prf", dictionary([["eval", prfValues], ["evalByCredential", record(prfValues)]])],
    ["uvm", boolean],
  ]);
  const entityName = ["name", domString, REQUIRED];
  // (attestationFormats is absent: Chromium 156 does not expose it, so it is ignored.)
  const creationOptions = dictionary([
    ["attestation", domString],
    ["authenticatorSelection", dictionary([
      ["authenticatorAttachment", domString],
      ["requireResidentKey", boolean],
      ["residentKey", domString],
      ["userVerification", domString],
    ])],
    ["challenge", bufferSource, REQUIRED],
    ["excludeCredentials", sequence(descriptor)],
    ["extensions", extensionInputs],
    ["hints", sequence(domString)],
    ["pubKeyCredParams", sequence(dictionary([["alg", long, REQUIRED], ["type", domString, REQUIRED]])), REQUIRED],
    ["rp", dictionary([entityName, ["id", domString]]), REQUIRED],
    ["timeout", unsignedLong],
    ["user", dictionary([entityName, ["displayName", domString, REQUIRED], ["id", bufferSource, REQUIRED]]), REQUIRED],
  ]);
  const requestOptions = dictionary([
    ["allowCredentials", sequence(descriptor)],
    ["challenge", bufferSource, REQUIRED],
    ["extensions", extensionInputs],
    ["hints", sequence(domString)],
    ["rpId", usvString],
    ["timeout", unsignedLong],
    ["userVerification", domString],
  ]);
  const MEDIATIONS = freeze(["silent", "optional", "required", "conditional"]);
  function mediation(value, path) { // an IDL enum: an unknown value is a TypeError
    const text = domString(value);
    for (let i = 0; i < MEDIATIONS.length; i++) if (MEDIATIONS[i] === text) return text;
    throw typeError(path, `is not a valid CredentialMediationRequirement: ${text}`);
  }
  function abortSignal(value, path) {
    try {
      signalAborted(value); // brand check
    } catch {
      throw typeError(path, "is not an AbortSignal");
    }
    return value;
  }
  // CredentialCreationOptions / CredentialRequestOptions: the members vauth reads (the others
  // are read by the browser when vauth hands a call back to it).
  const outerOptions = (publicKey) => dictionary([
    ["mediation", mediation],
    ["publicKey", publicKey],
    ["signal", abortSignal],
  ]);
  const OUTER = { [PAGE_OPS.CREATE]: outerOptions(creationOptions), [PAGE_OPS.GET]: outerOptions(requestOptions) };

  // Base64URLString (the Signal API): unpadded base64url, as Chromium decodes it.
  const BASE64URL = /^[A-Za-z0-9_-]*$/;
  const isBase64url = (text) => regexExec(BASE64URL, text) !== null && text.length % 4 !== 1;

  // What Chromium refuses after conversion and before asking an authenticator (its
  // credentials_container.cc and AuthenticatorCommonImpl): the same errors, the same order.
  const MAX_USER_ID_LENGTH = 64;
  const CRED_PROTECT = freeze(["userVerificationOptional", "userVerificationOptionalWithCredentialIDList", "userVerificationRequired"]);
  const notSupported = (message) => new SafeDOMException(message, "NotSupportedError");
  const syntaxError = (message) => new SafeDOMException(message, "SyntaxError");
  const byteLengthOf = (text) => (text.length * 3) >> 2;

  function refusedCreation(o) {
    const ext = o.extensions || holder();
    if (ext.appid !== undefined) {
      return notSupported("The 'appid' extension is only valid when requesting an assertion.");
    }
    if (ext.largeBlob && (ext.largeBlob.read !== undefined || ext.largeBlob.write !== undefined)) {
      return notSupported("The 'largeBlob' extension's 'read' and 'write' are only valid for an assertion.");
    }
    if (ext.prf && ext.prf.evalByCredential !== undefined) {
      return notSupported("The 'prf' extension does not support 'evalByCredential' during creation.");
    }
    const params = o.pubKeyCredParams;
    let publicKeyType = params.length === 0; // none: L3 §5.1.3 takes ES256 and RS256
    for (let i = 0; i < params.length; i++) if (params[i].type === "public-key") publicKeyType = true;
    if (!publicKeyType) return notSupported("No 'public-key' entry in pubKeyCredParams.");
    if (!knownProtection(ext.credentialProtectionPolicy)) {
      return notSupported("Unknown credentialProtectionPolicy.");
    }
    // L3 §5.1.3: 1 to 64 bytes. (Chromium 156 lets an empty one through; vauth cannot keep or
    // export a passkey without a user handle, so it refuses it as the specification says.)
    const userIdLength = byteLengthOf(o.user.id);
    if (userIdLength < 1 || userIdLength > MAX_USER_ID_LENGTH) {
      return new SafeTypeError("The user handle (user.id) must be 1 to 64 bytes long.");
    }
    return refusedProtection(o, ext);
  }

  function knownProtection(policy) {
    let known = policy === undefined;
    for (let i = 0; i < CRED_PROTECT.length; i++) if (CRED_PROTECT[i] === policy) known = true;
    return known;
  }

  // Chromium's browser process judges the policy against the rest, after the checks above.
  function refusedProtection(o, ext) {
    const policy = ext.credentialProtectionPolicy;
    const selection = o.authenticatorSelection || holder();
    const residentKey = selection.residentKey === "required" || selection.residentKey === "preferred" ||
      selection.residentKey === "discouraged"
      ? selection.residentKey
      : selection.requireResidentKey ? "required" : "discouraged";
    const inconsistent =
      (ext.enforceCredentialProtectionPolicy && (policy === undefined || policy === CRED_PROTECT[0])) ||
      (residentKey === "discouraged" && policy === CRED_PROTECT[0]) ||
      (policy === CRED_PROTECT[2] && selection.userVerification !== "required");
    return inconsistent
      ? notSupported("Requested protection policy is inconsistent or incongruent with other requested parameters.")
      : null;
  }

  function refusedRequest(o) {
    const ext = o.extensions || holder();
    const allowed = o.allowCredentials || list();
    const large = ext.largeBlob;
    if (large && large.support !== undefined) {
      return notSupported("The 'largeBlob' extension's 'support' is only valid when creating a credential.");
    }
    const refusal = refusedEvalByCredential(ext, allowed);
    if (refusal) return refusal;
    // (these two are the browser process's, after the page's own checks)
    if (large && large.read && large.write !== undefined) {
      return notSupported("Only one of the 'largeBlob' extension's 'read' and 'write' is allowed at a time.");
    }
    if (large && large.write !== undefined && allowed.length !== 1) {
      return notSupported("The 'largeBlob' extension's 'write' needs exactly one credential in 'allowCredentials'.");
    }
    return null;
  }

  function refusedEvalByCredential(ext, allowed) {
    const byCredential = ext.prf && ext.prf.evalByCredential;
    if (!byCredential) return null;
    const keys = objectKeys(byCredential);
    if (keys.length && !allowed.length) {
      return notSupported("'evalByCredential' can only be used with a non-empty 'allowCredentials'.");
    }
    const canonical = holder();
    for (let i = 0; i < keys.length; i++) {
      if (!isBase64url(keys[i])) return syntaxError("'evalByCredential' contains invalid base64url data.");
      const id = b64urlEncode(new SafeUint8Array(b64urlDecode(keys[i])));
      let listed = false;
      for (let j = 0; j < allowed.length; j++) if (allowed[j].id === id) listed = true;
      if (!listed) return syntaxError("'evalByCredential' names a credential not in 'allowCredentials'.");
      defineProperty(canonical, id, plain(byCredential[keys[i]]));
    }
    ext.prf.evalByCredential = canonical; // the daemon reads canonical base64url keys
    return null;
  }

  // -- results -> objects the browser's own would be (house style rule 19) -------------------------
  // A browser's PublicKeyCredential has no own properties: its attributes are accessors on the
  // prototype chain (WebIDL §3.7.6) that check the object is one of theirs ("Illegal
  // invocation" otherwise), and its methods are operations there. So vauth's objects are bare
  // objects of those prototypes, their values held here, and the browser's accessors and
  // operations are replaced by ones that answer for vauth's objects and hand every other object
  // to the browser's own (a credential the browser made, or anything else: its own TypeError).
  // A platform object cannot be cloned (DataCloneError): neither can a Proxy, which each is.
  const answers = new SafeWeakMap(); // vauth's object -> {interface name -> {member -> answer}}
  const answersOf = uncurry(SafeWeakMap.prototype.get);
  const answering = uncurry(SafeWeakMap.prototype.set);
  const SafeProxy = Proxy;
  const copy = (json) => jsonParse(jsonStringify(json));
  const optionalBuffer = (text) => (typeof text === "string" ? b64urlDecode(text) : null);

  function answerFor(object, iface, member) {
    const all = answersOf(answers, object);
    const mine = all && all[iface];
    return mine && hasOwn(mine, member) ? mine : null;
  }

  // The getter `member` of `iface`'s prototype, answering for vauth's objects.
  function answerAttribute(iface, member) {
    const proto = globalThis[iface] && globalThis[iface].prototype;
    const d = proto && getOwnPropertyDescriptor(proto, member);
    if (!d || typeof d.get !== "function") return;
    const original = d.get;
    const replacement = getOwnPropertyDescriptor({
      get [member]() {
        const mine = answerFor(this, iface, member);
        return mine ? mine[member] : reflectApply(original, this, []);
      },
    }, member).get;
    disguise(replacement, original);
    defineProperty(proto, member, { get: replacement, set: d.set, enumerable: d.enumerable, configurable: d.configurable });
  }

  // The operation `member` of `iface`'s prototype (no arguments), answering for vauth's objects.
  function answerOperation(iface, member) {
    const proto = globalThis[iface] && globalThis[iface].prototype;
    const d = proto && getOwnPropertyDescriptor(proto, member);
    if (!d || typeof d.value !== "function") return;
    const original = d.value;
    const replacement = {
      [member]() {
        const mine = answerFor(this, iface, member);
        return mine ? mine[member]() : reflectApply(original, this, arguments);
      },
    }[member];
    disguise(replacement, original);
    defineProperty(proto, member, { ...d, value: replacement });
  }

  const INTERFACES = {
    Credential: { attributes: ["id", "type"] },
    PublicKeyCredential: {
      attributes: ["rawId", "response", "authenticatorAttachment"],
      operations: ["getClientExtensionResults", "toJSON"],
    },
    AuthenticatorResponse: { attributes: ["clientDataJSON"] },
    AuthenticatorAttestationResponse: {
      attributes: ["attestationObject"],
      operations: ["getTransports", "getAuthenticatorData", "getPublicKey", "getPublicKeyAlgorithm"],
    },
    AuthenticatorAssertionResponse: { attributes: ["authenticatorData", "signature", "userHandle", "attestationObject"] },
  };
  for (const iface of objectKeys(INTERFACES)) {
    const { attributes = [], operations = [] } = INTERFACES[iface];
    for (let i = 0; i < attributes.length; i++) answerAttribute(iface, attributes[i]);
    for (let i = 0; i < operations.length; i++) answerOperation(iface, operations[i]);
  }

  // A bare object of `proto`, answering as `byInterface` says.
  function platformObject(proto, byInterface) {
    const handler = holder(); // no traps, not even ones a page adds to Object.prototype
    const object = new SafeProxy(objectCreate(proto), handler);
    const record = holder();
    const ifaces = objectKeys(byInterface);
    for (let i = 0; i < ifaces.length; i++) {
      const given = byInterface[ifaces[i]];
      const members = (record[ifaces[i]] = holder());
      const names = objectKeys(given);
      for (let j = 0; j < names.length; j++) members[names[j]] = given[names[j]];
    }
    answering(answers, object, record);
    return object;
  }

  // WebIDL turns a dictionary into an object with its members in lexicographic order (§3.2.17),
  // at every level: what toJSON() and getClientExtensionResults() give.
  function sortedDeep(value) {
    if (isArray(value)) {
      const out = [];
      for (let i = 0; i < value.length; i++) defineProperty(out, i, plain(sortedDeep(value[i])));
      return out;
    }
    if (!isObject(value)) return value; // (JSON from the service worker: no buffers yet)
    const out = {};
    const names = arraySort(objectKeys(value));
    for (let i = 0; i < names.length; i++) defineProperty(out, names[i], plain(sortedDeep(value[names[i]])));
    return out;
  }

  // Chromium gives the same ArrayBuffer on each call of getAuthenticatorData() and
  // getPublicKey(); Firefox a new copy each time.
  const arrayBufferSlice = uncurry(ArrayBuffer.prototype.slice);
  const fresh = (buffer) => (firefox && buffer !== null ? arrayBufferSlice(buffer, 0) : buffer);

  function attestationResponse(r) {
    const authenticatorData = b64urlDecode(r.authenticatorData);
    const publicKey = optionalBuffer(r.publicKey);
    const transports = isArray(r.transports) ? copy(r.transports) : [];
    return platformObject(Attestation.prototype, {
      AuthenticatorResponse: { clientDataJSON: b64urlDecode(r.clientDataJSON) },
      AuthenticatorAttestationResponse: {
        attestationObject: b64urlDecode(r.attestationObject),
        getTransports: () => copy(transports),
        getAuthenticatorData: () => fresh(authenticatorData),
        getPublicKey: () => fresh(publicKey),
        getPublicKeyAlgorithm: () => r.publicKeyAlgorithm,
      },
    });
  }

  function assertionResponse(r) {
    const assertion = {
      authenticatorData: b64urlDecode(r.authenticatorData),
      signature: b64urlDecode(r.signature),
      userHandle: optionalBuffer(r.userHandle),
    };
    if (hasOwn(Assertion.prototype, "attestationObject")) assertion.attestationObject = optionalBuffer(r.attestationObject);
    return platformObject(Assertion.prototype, {
      AuthenticatorResponse: { clientDataJSON: b64urlDecode(r.clientDataJSON) },
      AuthenticatorAssertionResponse: assertion,
    });
  }

  // WebAuthn's ArrayBuffer-valued client extension outputs arrive as base64url.
  function extensionResults(json) {
    const results = sortedDeep(json || {});
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
    if (frozenJSON.authenticatorAttachment == null) delete frozenJSON.authenticatorAttachment;
    const response =
      kind === PAGE_OPS.CREATE ? attestationResponse(json.response) : assertionResponse(json.response);
    return platformObject(PKC.prototype, {
      Credential: { id: json.id, type: json.type },
      PublicKeyCredential: {
        rawId: b64urlDecode(json.rawId),
        response,
        authenticatorAttachment: json.authenticatorAttachment ?? null,
        getClientExtensionResults: () => extensionResults(frozenJSON.clientExtensionResults),
        toJSON: () => sortedDeep(frozenJSON),
      },
    });
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
  // (the browser's own sentence: PAGE_ERROR_MESSAGES in extension/shared/protocol.js)
  const NOT_ALLOWED_MESSAGE = firefox
    ? "The request is not allowed by the user agent or the platform in the current context, possibly because the user denied permission."
    : "The operation either timed out or was not allowed. See: https://www.w3.org/TR/webauthn-2/#sctn-privacy-considerations-client.";
  const notAllowed = () => new SafeDOMException(NOT_ALLOWED_MESSAGE, "NotAllowedError");

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

  // `options` is the page's argument (handed back to the browser on a fallback); `request` is
  // its WebIDL conversion.
  function ceremony(kind, options, request) {
    const fallback = () => throughBrowser(kind, options);
    return new SafePromise((resolve, reject) => {
      const signal = request.signal;
      if (signal != null && signalAborted(signal)) return reject(abortError(signal));
      if (opaqueOrigin) return firefox ? resolve(fallback()) : reject(opaqueOriginError());
      const publicKey = request.publicKey;
      const refusal = kind === PAGE_OPS.CREATE ? refusedCreation(publicKey) : refusedRequest(publicKey);
      if (refusal) return reject(refusal);
      if (kind === PAGE_OPS.GET && request.mediation === "conditional") {
        return conditional(options, signal, publicKey, resolve, reject);
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
  function conditional(options, signal, publicKey, resolve, reject) {
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
    const browser = () => finish(resolve, throughBrowser(PAGE_OPS.GET, options));
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

  const rejectWith = (error) => new SafePromise((resolve, reject) => reject(error));

  // The page's call, to the browser. In proxy mode the browser passes it to vauth's proxy; when
  // the person chooses another authenticator there, vauth ends it with the hand-back error and
  // lets go of the proxy: ask the browser again (its own authenticators answer this time), then
  // tell vauth the call settled so it takes the proxy back.
  function isHandback(error) {
    try {
      return domExceptionName(error) === PROXY.HANDBACK_ERROR && domExceptionMessage(error) === PROXY.HANDBACK_MESSAGE;
    } catch {
      return false; // not a DOMException
    }
  }
  function throughBrowser(kind, options) {
    const call = () => (kind === PAGE_OPS.CREATE ? originalCreate : originalGet)(container, options);
    return then(call(), undefined, (error) => {
      if (!isHandback(error)) throw error;
      return new SafePromise((resolve, reject) => {
        send(PAGE_OPS.HANDBACK, {}, (reply) => {
          if (!reply.ok) return reject(error);
          const settled = () => send(PAGE_OPS.HANDBACK_DONE, {}, () => {});
          let again;
          try {
            again = call();
          } catch (thrown) {
            again = rejectWith(thrown);
          }
          then(again, (value) => (settled(), resolve(value)), (thrown) => (settled(), reject(thrown)));
        });
      });
    });
  }

  // The page's options converted as WebIDL does (`{request}`), or the TypeError (`{error}`).
  function convertRequest(kind, options) {
    try {
      return { request: OUTER[kind](options, "options") };
    } catch (error) {
      return { error };
    }
  }

  // (length 0, as WebIDL gives an operation whose arguments are all optional)
  const replacements = {
    create() {
      const options = arguments[0];
      if (this !== container) return originalCreate(this, options);
      const { request, error } = convertRequest(PAGE_OPS.CREATE, options);
      if (error) return rejectWith(error);
      if (request.publicKey === undefined) return originalCreate(this, options);
      if (request.mediation === "conditional") return throughBrowser(PAGE_OPS.CREATE, options);
      return ceremony(PAGE_OPS.CREATE, options, request);
    },
    get() {
      const options = arguments[0];
      if (this !== container) return originalGet(this, options);
      const { request, error } = convertRequest(PAGE_OPS.GET, options);
      if (error) return rejectWith(error);
      if (request.publicKey === undefined) return originalGet(this, options);
      if (request.mediation === "silent") return throughBrowser(PAGE_OPS.GET, options);
      return ceremony(PAGE_OPS.GET, options, request);
    },
  };
  replaceOperation(Container.prototype, "create", replacements.create);
  replaceOperation(Container.prototype, "get", replacements.get);

  // -- PublicKeyCredential statics --------------------------------------------------------------------
  const VAUTH_CAPABILITIES = freeze([
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

  // {available, proxied}: is vauth reachable, and is its proxy attached (autofill is then off)?
  // Unknown (no bridge, an opaque origin): not available, not proxied.
  const vauthState = () =>
    then(request(PAGE_OPS.AVAILABLE, {}), (state) => state || {}, () => ({}));

  const statics = {
    isConditionalMediationAvailable() {
      return then(vauthState(), (state) => state.proxied !== true);
    },
    // WebAuthn L3 5.1.7: vauth verifies its user (the vault's passphrase), so while it answers it
    // is a user-verifying platform authenticator; otherwise the browser says what it has.
    isUserVerifyingPlatformAuthenticatorAvailable() {
      const original = originalStatics.isUserVerifyingPlatformAuthenticatorAvailable;
      return then(vauthState(), (state) => state.available === true || (original ? original(PKC) : false));
    },
    getClientCapabilities() {
      const original = originalStatics.getClientCapabilities;
      const browser = original ? then(original(PKC), undefined, () => ({})) : resolved({});
      return then(vauthState(), (state) => then(browser, (capabilities) => {
        const merged = {};
        const names = objectKeys(capabilities || {});
        for (let i = 0; i < names.length; i++) merged[names[i]] = capabilities[names[i]];
        for (let i = 0; i < VAUTH_CAPABILITIES.length; i++) merged[VAUTH_CAPABILITIES[i]] = true;
        merged.conditionalGet = state.proxied !== true; // the proxy turns passkey autofill off
        if (state.available === true) {
          merged.passkeyPlatformAuthenticator = true; // WebAuthn L3 5.1.7 (getClientCapabilities)
          merged.userVerifyingPlatformAuthenticator = true;
        }
        return merged;
      }));
    },
    signalUnknownCredential(options) {
      return signal(PAGE_OPS.SIGNAL_UNKNOWN_CREDENTIAL, options, unknownCredentialOptions, ["credentialId"]);
    },
    signalAllAcceptedCredentials(options) {
      return signal(PAGE_OPS.SIGNAL_ALL_ACCEPTED_CREDENTIALS, options, allAcceptedCredentialsOptions,
        ["userId", "allAcceptedCredentialIds"]);
    },
    signalCurrentUserDetails(options) {
      return signal(PAGE_OPS.SIGNAL_CURRENT_USER_DETAILS, options, currentUserDetailsOptions, ["userId"]);
    },
  };

  // The Signal API: validate as WebAuthn says (TypeError), tell the browser's own authenticators
  // too, and let vauth fix or remove its stale passkeys (the service worker checks the rpId).
  function signal(name, options, convert, base64urlMembers) {
    return new SafePromise((resolve, reject) => {
      let payload;
      try {
        payload = convert(options, "options");
        for (let i = 0; i < base64urlMembers.length; i++) {
          const member = base64urlMembers[i];
          const values = typeof payload[member] === "string" ? [payload[member]] : payload[member];
          for (let j = 0; j < values.length; j++) {
            if (!isBase64url(values[j])) throw new SafeTypeError(`Invalid base64url string for ${member}.`);
          }
        }
      } catch (error) {
        return reject(error);
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

  // WebAuthn L3 §5.1.10: UnknownCredentialOptions, AllAcceptedCredentialsOptions,
  // CurrentUserDetailsOptions; a Base64URLString is a DOMString that must be unpadded base64url.
  const rpIdMember = ["rpId", domString, REQUIRED];
  const userIdMember = ["userId", domString, REQUIRED];
  const unknownCredentialOptions = dictionary([["credentialId", domString, REQUIRED], rpIdMember]);
  const allAcceptedCredentialsOptions = dictionary([
    ["allAcceptedCredentialIds", sequence(domString), REQUIRED], rpIdMember, userIdMember,
  ]);
  const currentUserDetailsOptions = dictionary([
    ["displayName", domString, REQUIRED], ["name", domString, REQUIRED], rpIdMember, userIdMember,
  ]);

  for (const name of objectKeys(statics)) replaceOperation(PKC, name, statics[name]);
})();
