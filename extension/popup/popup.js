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
$("#open-options").addEventListener("click", () => chrome.runtime.openOptionsPage());

chrome.action.setBadgeText({ text: "" });
site = await currentSite();
await refresh();
