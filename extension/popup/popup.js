// The toolbar popup: the vault's lock state, and the passkeys for the current tab's site.
import { ACTIONS, MSG } from "../shared/protocol.js";
import { $, call, daemon, el, rpIdMatches, showError } from "../ui/common.js";
import { passkeyDetails } from "../ui/passkeys.js";
import { siteFor } from "../background/settings.js";

let site = null; // {origin, host} of the current tab, when it is a web page

async function currentSite() {
  const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
  try {
    const url = new URL(tab?.url ?? "");
    return url.protocol === "https:" || url.protocol === "http:" ? { origin: url.origin, host: url.hostname } : null;
  } catch {
    return null;
  }
}

async function refresh() {
  showError($("#error"), null);
  let status;
  try {
    status = await daemon(ACTIONS.STATUS);
  } catch (error) {
    $("#lock-state").textContent = "not running";
    $("#lock").hidden = true;
    $("#unlock-form").hidden = true;
    $("#site-section").hidden = true;
    return showError($("#error"), error);
  }
  const locked = Boolean(status.vault?.locked);
  $("#lock-state").textContent = status.vault ? (locked ? "locked" : "unlocked") : "no vault";
  $("#lock-state").dataset.locked = String(locked);
  $("#lock").hidden = !status.vault || locked;
  $("#unlock-form").hidden = !locked;
  if (locked) $("#passphrase").focus();
  $("#site-section").hidden = !site || locked;
  if (site && !locked) await showPasskeys();
}

async function showPasskeys() {
  $("#site").textContent = site.host;
  const all = await daemon(ACTIONS.CREDENTIALS_LIST);
  const mine = all.filter((c) => rpIdMatches(c.rpId, site.host));
  $("#no-passkeys").hidden = mine.length > 0;
  $("#passkeys").replaceChildren(...mine.map((c) => el("li", {}, passkeyDetails(c, {
    onChange: refresh, onError: (e) => showError($("#error"), e), onNotice: notice }))));
  const settings = await call(MSG.SETTINGS_GET);
  const remembered = siteFor(settings.sites, site.host);
  $("#site-choice").value = remembered ? settings.sites[remembered] : "";
}

function notice(text) {
  $("#notice").textContent = text;
  $("#notice").hidden = !text;
}

$("#unlock-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await daemon(ACTIONS.UNLOCK, { passphrase: $("#passphrase").value });
    $("#passphrase").value = "";
    await refresh();
  } catch (error) {
    showError($("#error"), error);
  }
});
$("#lock").addEventListener("click", async () => {
  await daemon(ACTIONS.LOCK).catch((e) => showError($("#error"), e));
  await refresh();
});
$("#site-choice").addEventListener("change", async () => {
  const choice = $("#site-choice").value || null;
  const settings = await call(MSG.SETTINGS_GET);
  await call(MSG.SETTINGS_SET, { patch: { sites: { [siteFor(settings.sites, site.host) ?? site.host]: choice } } });
});
// Proxy mode (background/proxy.js): the switch, and what it means now.
const PROXY_NOTES = {
  off: "Off: vauth offers its passkeys from inside each page, and passkey autofill works. Turn this on if the browser's own passkey window appears before vauth's.",
  on: "On: every passkey request in this browser comes to vauth first; \"Use another authenticator\" in vauth's window reaches the browser's own. Passkey autofill in sign-in fields is off in this mode.",
  held: "Another extension already answers this browser's passkey requests, so vauth stays inside each page instead. Turn that extension's passkey option off to let vauth answer here.",
  unsupported: "This browser cannot let vauth answer every passkey request; vauth works from inside each page.",
};

function showProxy(state) {
  $("#proxy-switch").checked = Boolean(state.enabled);
  $("#proxy-switch").disabled = !state.supported;
  const note = !state.supported ? "unsupported" : state.held ? "held" : state.enabled ? "on" : "off";
  $("#proxy-note").textContent = PROXY_NOTES[note];
  $("#proxy-note").dataset.state = note;
}

$("#proxy-switch").addEventListener("change", async () => {
  try {
    showProxy(await call(MSG.PROXY_SET, { enabled: $("#proxy-switch").checked }));
  } catch (error) {
    showError($("#error"), error);
  }
});
$("#open-options").addEventListener("click", () => chrome.runtime.openOptionsPage());

chrome.action.setBadgeText({ text: "" });
site = await currentSite();
showProxy(await call(MSG.PROXY_GET).catch(() => ({ supported: false })));
await refresh();
