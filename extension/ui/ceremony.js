// The ceremony window: shows what a site asks for, polls the daemon for this ceremony's presence
// prompt and answers it (approve, use another authenticator, cancel); unlocks the vault in place.
import { ACTIONS, CEREMONY_STATES as STATES, ERRORS, MSG, PORTS, SAY_WHY_MS } from "../shared/protocol.js";
import { $, call, daemon, describeNodes, el, showError, when } from "./common.js";

const ceremonyId = new URLSearchParams(location.search).get("id");
let info = null;
let prompt = null;
let polling = false;
let busy = false;
let rememberShown = false; // the remembered choice is preselected once, then left to the person
let syncShown = false; // likewise the vault's sync default

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const isCreate = () => info?.kind === ACTIONS.CREATE;
const remember = () => document.querySelector('input[name="remember"]:checked')?.value || null;

function over(error, closeAfterMs = 1500) {
  info = null;
  for (const button of document.querySelectorAll("button")) button.disabled = true;
  $("#waiting").hidden = false;
  $("#waiting").classList.toggle("error", Boolean(error));
  $("#waiting").replaceChildren(...(error ? describeNodes(error) : ["This request is over."]));
  setTimeout(() => window.close(), closeAfterMs);
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
  if (ceremony.state === STATES.DONE) {
    // The daemon stopped while the person was deciding: say so before closing.
    if (ceremony.error?.code === ERRORS.STOPPING) return over(ceremony.error, SAY_WHY_MS);
    return void setTimeout(() => window.close(), 250);
  }
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
    ? `If you save it, you sign in to ${ceremony.rpId} with vauth from now on instead of a password. The site gets no secret it could leak.`
    : `If you sign in, vauth proves to ${ceremony.rpId} that it is you. The site learns nothing else.`);
  renderDetails();
  renderRemembered(ceremony);

  const locked = ceremony.state === STATES.LOCKED;
  const unavailable = ceremony.state === STATES.UNAVAILABLE;
  const none = ceremony.state === STATES.NO_PASSKEYS;
  $("#no-passkeys").hidden = !none;
  if (none) $("#fallback").focus();
  $("#unlock-form").hidden = !locked;
  $("#unavailable").hidden = !unavailable;
  if (unavailable) showError($("#unavailable-message"), ceremony.error);
  $("#waiting").hidden = locked || unavailable || none || Boolean(prompt);
  $("#approve").disabled = !(ceremony.state === STATES.WAITING && prompt) || busy;
  const why = approveWhy(ceremony.state, create);
  $("#approve-why").hidden = !why;
  setText("#approve-why", why);
  if (locked && document.activeElement !== $("#passphrase")) $("#passphrase").focus();
  if (unavailable) $("#retry").focus();
  if (ceremony.state === STATES.WAITING) poll();
}

// Why the approve button is disabled, in a sentence (null when it is not, or the window says so).
function approveWhy(state, create) {
  const action = create ? "save the passkey" : "sign in";
  if (state === STATES.UNAVAILABLE) return `vauth is not running, so it cannot ${action} now. Start it and choose Try again, or use another authenticator.`;
  if (state === STATES.LOCKED) return `Unlock your vault above to ${action} with vauth.`;
  if (state === STATES.NO_PASSKEYS) return "vauth has no passkey to sign in with here.";
  return null;
}

// What was remembered for this site: preselected (once), and said in a sentence.
function renderRemembered(ceremony) {
  setText("#remember-site-text", `Remember my choice for ${ceremony.rpId}`);
  setText("#remember-legend", `Next time on ${ceremony.rpId}`);
  const remembered = ceremony.remembered;
  const chosen = remembered?.scope && ceremony.choice === "vauth";
  $("#remembered").hidden = !chosen;
  if (chosen) {
    setText("#remembered", remembered.scope === "site"
      ? `You chose vauth for ${remembered.site}, so vauth only asks for your OK here.`
      : "You chose vauth for all sites, so vauth only asks for your OK here.");
  }
  if (rememberShown) return;
  rememberShown = true;
  if (remembered?.scope === "site") $("#remember-site").checked = true;
  else if (remembered?.scope === "global") $("#remember-global").checked = true;
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
      ? "In your encrypted vauth vault. The site can offer it to you without asking for your account name."
      : "The site keeps it, locked so that only your vauth can use it; you type your account name first when you sign in. vauth lists it with your other passkeys, and deleting it there stops it working.");
    const asked = info.attestation && info.attestation !== "none";
    const sent = prompt?.attestation ?? "none";
    setText("#attestation", (asked ? "The site asked which kind of authenticator you use. " : "The site did not ask which kind of authenticator you use. ")
      + (sent === "none" ? "vauth tells it nothing about that." : "vauth tells it that the passkey was made by vauth."));
  }
  row("account", create || !prompt?.accounts?.length);
  if (!create) setText("#account", prompt?.accounts?.length ? "" : info.allowCredentials ? "The account you gave the site" : "Any of your accounts on this site");
  $("#more").hidden = !create;
  $("#excluded").hidden = !(create && prompt?.excluded);
  renderSyncChoice(create ? prompt?.sync : null);
  renderAccounts();
}

// A synced passkey or one for this computer only (issue 13): shown once the daemon's prompt says
// this computer syncs; the vault's default is preselected, the person may switch before saving.
function renderSyncChoice(offer) {
  $("#sync-choice").hidden = !offer;
  if (!offer) return;
  const devices = offer.devices === 1 ? "Saved to your devices (this is the only one so far)" : `Saved to your ${offer.devices} devices`;
  setText("#sync-synced-text", devices);
  if (syncShown) return;
  syncShown = true;
  $(offer.default === "device" ? "#sync-device" : "#sync-synced").checked = true;
}

// The choice to send with the answer: true, false, or undefined (no choice shown: the default).
function syncedChoice() {
  if ($("#sync-choice").hidden) return undefined;
  return document.querySelector('input[name="sync"]:checked')?.value === "synced";
}

function renderAccounts() {
  const accounts = !isCreate() && prompt?.accounts?.length ? prompt.accounts : [];
  $("#accounts-section").hidden = accounts.length === 0;
  const list = $("#accounts");
  if (list.childElementCount === accounts.length) return;
  list.replaceChildren(...accounts.map((account, index) =>
    el("label", { for: `account-${index}` },
      el("input", { type: "radio", name: "account", id: `account-${index}`, value: String(index), checked: index === 0 }),
      el("span", { class: "who" },
        el("span", { class: "display" }, account.nickname || account.userDisplayName || account.userName || "(no name)"),
        el("span", { class: "name" }, accountLine(account)),
        el("span", { class: "last-used" }, account.lastUsed ? `Last used ${when(account.lastUsed)}` : "Never used yet")),
    )));
}

// The account under its nickname: the names the site gave it (those not already in the title).
function accountLine(account) {
  const names = [account.userDisplayName, account.userName].filter(Boolean);
  const title = account.nickname || account.userDisplayName || account.userName;
  return [...new Set(names)].filter((n) => n !== title).join(", ");
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
    await call(MSG.CEREMONY_ANSWER, { ceremonyId, promptId: prompt.id, selected, synced: syncedChoice(), remember: remember() });
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
