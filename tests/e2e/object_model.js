// What a page can see of WebAuthn's objects (house style rule 19), run in a page as one async
// function: `await (OBJECT_MODEL)()` -> a JSON description. The same description is taken with
// vauth answering and with the browser's own virtual authenticator; the tests compare them.
// Values that differ by nature (key material, IDs, random challenges) are described by type
// and size class only; everything else (descriptors along the prototype chain, function names,
// lengths and source text, enumeration, JSON shapes, identities, errors) is compared as it is.
async () => {
  const toSource = Function.prototype.toString;
  const tagOf = (value) => Object.prototype.toString.call(value);
  const fn = (f) => ({
    name: f.name,
    length: f.length,
    source: toSource.call(f),
    // (sorted: Firefox makes a native function's "name" and "length" when first asked for)
    ownKeys: Reflect.ownKeys(f).map(String).sort(),
    constructible: (() => {
      try {
        Reflect.construct(String, [], f); // a constructor as new.target: only constructors pass
        return true;
      } catch {
        return false;
      }
    })(),
  });
  const errorOf = (error) => ({ error: error && error.name, message: error && error.message, type: tagOf(error) });
  const attempt = (call) => {
    try {
      return { value: call() };
    } catch (error) {
      return errorOf(error);
    }
  };

  // A value, without the parts that differ between two authenticators' answers.
  const STABLE = new Set(["type", "authenticatorAttachment", "publicKeyAlgorithm", "transports"]);
  function shape(value, key = "") {
    if (value === null || value === undefined) return value === null ? "null" : "undefined";
    if (typeof value === "function") return fn(value);
    if (typeof value !== "object") return STABLE.has(key) ? value : typeof value;
    if (value instanceof ArrayBuffer) return `ArrayBuffer${value.byteLength ? "" : "(empty)"}`;
    if (Array.isArray(value)) return value.map((item) => shape(item, key));
    const out = { "(tag)": tagOf(value) };
    for (const name of Object.keys(value)) out[name] = shape(value[name], name);
    return out;
  }

  function descriptor(d) {
    const out = { enumerable: d.enumerable, configurable: d.configurable };
    if ("value" in d) {
      out.writable = d.writable;
      out.value = typeof d.value === "function" ? fn(d.value) : typeof d.value === "object" && d.value !== null
        ? tagOf(d.value) : d.value;
    } else {
      out.get = d.get ? fn(d.get) : "undefined";
      out.set = d.set ? fn(d.set) : "undefined";
    }
    return out;
  }

  const levelName = (p) =>
    Object.prototype.hasOwnProperty.call(p, "constructor") ? `${p.constructor.name}.prototype` : tagOf(p);

  // Each level of the prototype chain up to Object.prototype: its own properties' descriptors.
  function chain(object) {
    const levels = [];
    for (let p = object; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
      const keys = Reflect.ownKeys(p).map(String);
      const properties = {};
      for (const key of Reflect.ownKeys(p)) properties[String(key)] = descriptor(Object.getOwnPropertyDescriptor(p, key));
      levels.push({ level: p === object ? "(the object)" : levelName(p), keys, properties });
    }
    return levels;
  }

  // Every attribute and every argument-less method along the chain, read or called on the
  // object (twice: [SameObject] and fresh results), and on objects that are not one.
  function results(object) {
    const out = {};
    for (let p = Object.getPrototypeOf(object); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
      for (const key of Reflect.ownKeys(p)) {
        if (typeof key !== "string" || key === "constructor") continue;
        const d = Object.getOwnPropertyDescriptor(p, key);
        const call = d.get || (typeof d.value === "function" && d.value.length === 0 ? d.value : null);
        if (!call) continue;
        const first = attempt(() => call.call(object));
        const second = attempt(() => call.call(object));
        out[`${levelName(p)}.${key}`] = {
          result: "value" in first ? shape(first.value, key) : first,
          same: "value" in first && first.value === second.value,
          onPlainObject: attempt(() => call.call({})),
          onItsPrototype: attempt(() => call.call(Object.create(p))),
        };
      }
    }
    return out;
  }

  const keysIn = (object) => {
    const keys = [];
    for (const key in object) keys.push(key);
    return keys;
  };

  function outside(object) {
    const json = attempt(() => JSON.parse(JSON.stringify(object)));
    return {
      tag: tagOf(object),
      ownKeys: Reflect.ownKeys(object).map(String),
      keys: Object.keys(object),
      forIn: keysIn(object),
      extensible: Object.isExtensible(object),
      frozen: Object.isFrozen(object),
      json: "value" in json ? shape(json.value) : json,
      jsonKeyOrder: "value" in json && json.value ? JSON.stringify(Object.keys(json.value)) : null,
      structuredClone: attempt(() => shape(structuredClone(object))),
      spread: Object.keys({ ...object }),
      assign: Object.keys(Object.assign({}, object)),
    };
  }

  function describe(object) {
    return { chain: chain(object), results: results(object), outside: outside(object) };
  }

  function instances(credential) {
    return {
      credential: credential instanceof PublicKeyCredential,
      credentialIsCredential: credential instanceof Credential,
      response: credential.response instanceof AuthenticatorResponse,
      attestation: credential.response instanceof AuthenticatorAttestationResponse,
      assertion: credential.response instanceof AuthenticatorAssertionResponse,
      responseOfCredential: Object.getPrototypeOf(credential.response) === (credential.response instanceof
        AuthenticatorAttestationResponse ? AuthenticatorAttestationResponse : AuthenticatorAssertionResponse).prototype,
    };
  }

  const bytes = (n, fill) => new Uint8Array(n).fill(fill);
  const created = await navigator.credentials.create({
    publicKey: {
      rp: { name: "Example" },
      user: { id: bytes(8, 7), name: "model", displayName: "Model" },
      challenge: bytes(16, 1),
      pubKeyCredParams: [{ type: "public-key", alg: -7 }],
      authenticatorSelection: { residentKey: "required", userVerification: "preferred" },
      extensions: { credProps: true },
    },
  });
  const asserted = await navigator.credentials.get({
    publicKey: { challenge: bytes(16, 2), userVerification: "preferred" },
  });

  // The interfaces themselves: statics, and CredentialsContainer's methods.
  const statics = {};
  for (const name of Reflect.ownKeys(PublicKeyCredential)) {
    statics[String(name)] = descriptor(Object.getOwnPropertyDescriptor(PublicKeyCredential, name));
  }
  const staticCalls = {};
  for (const name of ["isConditionalMediationAvailable", "isUserVerifyingPlatformAuthenticatorAvailable"]) {
    staticCalls[name] = await PublicKeyCredential[name]().then((value) => ({ value }), errorOf);
    staticCalls[`${name} (on another object)`] =
      await PublicKeyCredential[name].call({}).then((value) => ({ value }), errorOf);
  }
  const capabilities = await PublicKeyCredential.getClientCapabilities();
  staticCalls.getClientCapabilities = { tag: tagOf(capabilities), proto: Object.getPrototypeOf(capabilities) === Object.prototype };
  const containerStatics = {};
  for (const name of Reflect.ownKeys(CredentialsContainer.prototype)) {
    containerStatics[String(name)] = descriptor(Object.getOwnPropertyDescriptor(CredentialsContainer.prototype, name));
  }
  const calledElsewhere = {
    create: await navigator.credentials.create.call({}, {}).then(() => "resolved", errorOf),
    get: await navigator.credentials.get.call({}, {}).then(() => "resolved", errorOf),
  };

  return {
    created: describe(created),
    createdResponse: describe(created.response),
    asserted: describe(asserted),
    assertedResponse: describe(asserted.response),
    instances: { created: instances(created), asserted: instances(asserted) },
    crossed: {
      // an assertion's getter on an attestation response, and the other way round
      assertionGetterOnAttestation: attempt(() => Object.getOwnPropertyDescriptor(
        AuthenticatorAssertionResponse.prototype, "signature").get.call(created.response)),
      attestationMethodOnAssertion: attempt(() =>
        AuthenticatorAttestationResponse.prototype.getTransports.call(asserted.response)),
    },
    extensionResults: shape(created.getClientExtensionResults()),
    values: {
      idIsRawId: created.id.length > 0 && asserted.rawId.byteLength > 0,
      sameCredential: created.id === asserted.id,
    },
    statics,
    staticCalls,
    containerStatics,
    calledElsewhere,
    functionToString: descriptor(Object.getOwnPropertyDescriptor(Function.prototype, "toString")),
  };
}
