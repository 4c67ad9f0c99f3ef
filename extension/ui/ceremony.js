// The ceremony window: shows what a site asks for, polls the daemon for this ceremony's presence
// prompt and answers it (approve, use another authenticator, cancel); unlocks the vault in place.
import { ACTIONS, CEREMONY_STATES as STATES, MSG, PORTS } from "../shared/protocol.js";
import { $, call, daemon, describe, el, showError } from "./common.js";

const ceremonyId = new URLSearchParams(location.search).get("id");
let info = null;
let prompt = null;
let polling = false;
let busy = false;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const isCreate = () => info?.kind === ACTIONS.CREATE;
const remember = () => document.querySelector('input[name="remember"]:checked')?.value || null;

function over(error) {
  info = null;
  for (const button of document.querySelectorAll("button")) button.disabled = true;
  $("#waiting").hidden = false;
  $("#waiting").textContent = error ? describe(error) : "This request is over.";
  setTimeout(() => window.close(), 1500);
}

function setText(selector, text) {
  $(selector).textContent = text ?? "";
}

function row(name, visible) {
  $(`#${name}`).hidden = !visible;
  $(`#${name}-label`).hidden = !visible;
}

function accountText(userName, displayName) {
  if (displayName && userName && displayName !== userName) return `${displayName} (${userName})`;
  return displayName || userName || "(no name given)";
}

function render(ceremony) {
  info = ceremony;
  document.body.dataset.state = ceremony.state;
  $("#ceremony").dataset.state = ceremony.state;
  $("#ceremony").dataset.kind = ceremony.kind;
  if (ceremony.state === STATES.DONE) return void setTimeout(() => window.close(), 250);
  const create = isCreate();
  setText("#title", create ? `Create a passkey for ${ceremony.rpId}?` : `Sign in to ${ceremony.rpId} with a passkey?`);
  document.title = `vauth: ${create ? "create a passkey" : "sign in"} (${ceremony.rpId})`;
  setText("#approve", create ? "Save in vauth" : "Sign in");
  setText("#enter-hint", create ? "save in vauth" : "sign in");
  setText("#origin", ceremony.origin);
  setText("#rp-id", ceremony.rpName ? `${ceremony.rpId} (${ceremony.rpName})` : ceremony.rpId);
  row("top-origin", Boolean(ceremony.topOrigin && ceremony.topOrigin !== ceremony.origin));
  setText("#top-origin", ceremony.topOrigin);
  setText("#purpose", create
    ? (isDiscoverable()
      ? `If you save it, vauth makes a new key pair for this account, keeps the private key in your encrypted vault and gives ${ceremony.rpId} only the public key. Later you sign in there with it instead of a password.`
      : `If you save it, vauth makes a new key pair for this account and gives ${ceremony.rpId} the public key and an ID that holds the private key, locked so that only your vauth can open it. Your vault keeps a note of it (site, account, dates) so you can see and delete it. Later you sign in there with it instead of a password.`)
    : `If you sign in, vauth signs ${ceremony.rpId}'s challenge with your passkey: the site learns it is you, and nothing else.`);
  renderDetails();

  const locked = ceremony.state === STATES.LOCKED;
  const unavailable = ceremony.state === STATES.UNAVAILABLE;
  const none = ceremony.state === STATES.NO_PASSKEYS;
  $("#no-passkeys").hidden = !none;
  if (none) $("#fallback").focus();
  $("#unlock-form").hidden = !locked;
  $("#unavailable").hidden = !unavailable;
  if (unavailable) setText("#unavailable-message", describe(ceremony.error));
  $("#waiting").hidden = locked || unavailable || none || Boolean(prompt);
  $("#approve").disabled = !(ceremony.state === STATES.WAITING && prompt) || busy;
  if (locked && document.activeElement !== $("#passphrase")) $("#passphrase").focus();
  if (unavailable) $("#retry").focus();
  if (ceremony.state === STATES.WAITING) poll();
}

function isDiscoverable() {
  return prompt ? Boolean(prompt.discoverable) : ["required", "preferred"].includes(info?.residentKey);
}

function renderDetails() {
  const create = isCreate();
  if (create) {
    const user = prompt ? { name: prompt.userName, displayName: prompt.userDisplayName } : info.user;
    setText("#account", accountText(user?.name, user?.displayName));
    setText("#storage", isDiscoverable()
      ? "In your vauth vault, as a discoverable passkey: the site can offer it to you without asking for your user name."
      : "Not discoverable: to sign in, you first give the site your account name, and the site tells vauth which passkey to use. vauth lists it with your other passkeys; deleting it there stops it working.");
    const asked = info.attestation && info.attestation !== "none" ? `The site asks for "${info.attestation}" attestation.` : "The site asks for no attestation.";
    const sent = prompt?.attestation ?? "none";
    setText("#attestation", `${asked} vauth will send ${sent === "none" ? "none (no statement about the authenticator)" : `a "${sent}" attestation statement`}.`);
  }
  row("account", create || !prompt?.accounts?.length);
  if (!create) setText("#account", prompt?.accounts?.length ? "" : info.allowCredentials ? "One the site names" : "Any of yours for this site");
  row("storage", create);
  row("attestation", create);
  $("#excluded").hidden = !(create && prompt?.excluded);
  renderAccounts();
}

function renderAccounts() {
  const accounts = !isCreate() && prompt?.accounts?.length ? prompt.accounts : [];
  $("#accounts-section").hidden = accounts.length === 0;
  const list = $("#accounts");
  if (list.childElementCount === accounts.length) return;
  list.replaceChildren(...accounts.map((account, index) =>
    el("label", { for: `account-${index}` },
      el("input", { type: "radio", name: "account", id: `account-${index}`, value: String(index), checked: index === 0 }),
      el("span", { class: "display" }, account.userDisplayName || account.userName || "(no name)"),
      account.userName && account.userDisplayName !== account.userName ? el("span", { class: "name" }, account.userName) : null,
    )));
}

// Long-poll the daemon for this ceremony's prompt (others' prompts are left alone).
async function poll() {
  if (polling) return;
  polling = true;
  try {
    while (info?.state === STATES.WAITING && !prompt) {
      try {
        const prompts = await daemon(ACTIONS.PROMPTS_WAIT, { timeout: 20 });
        const mine = prompts.find((p) => p.ceremonyId === ceremonyId);
        if (mine) {
          prompt = mine;
          showError($("#error"), null);
          render(info);
          const firstAccount = $("#account-0");
          (firstAccount ?? $("#approve")).focus();
        } else if (prompts.length) {
          await sleep(400);
        }
      } catch (error) {
        showError($("#error"), error);
        await sleep(1000);
      }
    }
  } finally {
    polling = false;
  }
}

async function act(work) {
  if (busy) return;
  busy = true;
  for (const button of document.querySelectorAll(".actions button")) button.disabled = true;
  showError($("#error"), null);
  try {
    await work();
  } catch (error) {
    showError($("#error"), error);
    busy = false;
    for (const button of document.querySelectorAll(".actions button")) button.disabled = false;
    if (info) render(info);
    if (error.code === "no such prompt") over(error);
  }
}

function approve() {
  if (!prompt || $("#approve").disabled) return;
  const checked = document.querySelector('input[name="account"]:checked');
  const selected = checked ? Number(checked.value) : undefined;
  return act(async () => {
    $("#waiting").hidden = false;
    setText("#waiting", isCreate() ? "Creating the passkey…" : "Signing in…");
    await call(MSG.CEREMONY_ANSWER, { ceremonyId, promptId: prompt.id, selected, remember: remember() });
  });
}

const fallback = () => act(() => call(MSG.CEREMONY_FALLBACK, { ceremonyId, remember: remember() }));
const cancel = () => act(() => call(MSG.CEREMONY_CANCEL, { ceremonyId }));

async function unlock(event) {
  event.preventDefault();
  const input = $("#passphrase");
  const passphrase = input.value;
  if (!passphrase) return input.focus();
  $("#unlock").disabled = true;
  showError($("#unlock-error"), null);
  try {
    await call(MSG.CEREMONY_UNLOCK, { ceremonyId, passphrase });
    input.value = "";
  } catch (error) {
    showError($("#unlock-error"), error);
    input.select();
  } finally {
    $("#unlock").disabled = false;
  }
}

$("#approve").addEventListener("click", approve);
$("#fallback").addEventListener("click", fallback);
$("#cancel").addEventListener("click", cancel);
$("#unlock-form").addEventListener("submit", unlock);
$("#retry").addEventListener("click", () => call(MSG.CEREMONY_RETRY, { ceremonyId }).catch((e) => showError($("#error"), e)));

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    event.preventDefault();
    cancel();
  } else if (event.key === "Enter") {
    const target = event.target;
    if (target.closest?.("form") || target.tagName === "BUTTON") return; // the form / the button
    event.preventDefault();
    approve();
  }
});

if (!ceremonyId) {
  over();
} else {
  const port = chrome.runtime.connect({ name: PORTS.CEREMONY });
  port.onMessage.addListener((msg) => {
    if (msg?.type !== MSG.CEREMONY_STATE) return;
    if (!msg.ceremony) return over(msg.error);
    render(msg.ceremony);
  });
  port.onDisconnect.addListener(() => info && over());
  port.postMessage({ type: MSG.CEREMONY_ATTACH, ceremonyId });
}
