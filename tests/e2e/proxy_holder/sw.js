// Holds the WebAuthn proxy before vauth can, and refuses every request it gets.
const proxy = chrome.webAuthenticationProxy;
const refuse = (complete) => ({ requestId }) =>
  complete({ requestId, error: { name: "NotAllowedError", message: "refused by the holder" } });
proxy.onCreateRequest.addListener(refuse(proxy.completeCreateRequest));
proxy.onGetRequest.addListener(refuse(proxy.completeGetRequest));
proxy.onIsUvpaaRequest.addListener(({ requestId }) => proxy.completeIsUvpaaRequest({ requestId, isUvpaa: false }));
globalThis.held = proxy.attach().then((error) => error ?? "attached", (e) => e.message);
