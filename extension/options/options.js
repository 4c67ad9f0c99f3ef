// The options page: every passkey (search, rename, delete), the trash, the audit log (uses and
// changes, with who made them), export (saying first what cannot travel) and import,
// the authenticator's name and where passkey requests go (globally and per site).
import { ACTIONS, ERRORS, MSG } from "../shared/protocol.js";
import { siteName } from "../background/settings.js";
import { $, base64ToBytes, bytesToBase64, call, daemon, describe, download, el, setupCommand, showError, startCommand, useVauthCommand, when } from "../ui/common.js";
import { account, passkeyDetails } from "../ui/passkeys.js";

let passkeys = [];
const CHOICE_TEXT = { ask: "ask each time", vauth: "vauth", browser: "the browser's own authenticators" };
// Errors show beside the section that caused them; #error is for the page as a whole.
const fail = (error) => showError($("#error"), error);
const failIn = (section) => (error) => showError($(`#${section}-error`), error);
const clearErrors = () => document.querySelectorAll(".section-error, #error").forEach((node) => showError(node, null));
// Sections that show the vault's contents: hidden while it is locked (a note says why).
const VAULT_SECTIONS = ["#passkeys-tools", "#passkeys", "#trash-section", "#audit-section", "#export-section", "#import-section", "#devices-section"];
// Everything that needs the daemon: hidden while it is not running (#daemon-down says why).
const DAEMON_PARTS = [...VAULT_SECTIONS, "#passkeys-section", "#name-section", "#recovery-section", "#recover-section", "#unlock-form", "#lock"];

async function refresh() {
  showError($("#error"), null);
  await showSettings().catch(failIn("sites"));
  let status;
  try {
    status = await daemon(ACTIONS.STATUS);
  } catch (error) {
    $("#lock-state").textContent = "not running";
    return showDaemonDown(error);
  }
  $("#daemon-down").hidden = true;
  $("#passkeys-section").hidden = false;
  const locked = Boolean(status.vault?.locked);
  $("#lock-state").textContent = status.vault ? (locked ? "locked" : "unlocked") : "no vault";
  $("#lock").hidden = !status.vault || locked;
  $("#unlock-form").hidden = !locked;
  $("#recover-section").hidden = !locked;
  $("#recovery-section").hidden = !status.vault || locked;
  $("#name-section").hidden = !status.vault;
  showCommands();
  if (document.activeElement !== $("#display-name")) $("#display-name").value = status.displayName ?? "";
  showVault(!locked, "Your vault is locked. Unlock it above to see your passkeys, the trash and their recent use.");
  if (locked) return;
  try {
    passkeys = await daemon(ACTIONS.CREDENTIALS_LIST);
    showPasskeys();
  } catch (error) {
    failIn("passkeys")(error);
  }
  await showDevices().catch(failIn("devices"));
  await showTrash().catch(failIn("trash"));
  await showExportNotice().catch(failIn("export"));
  await showAudit().catch(fail);
}

// No daemon (or no native host): no form that cannot work, and what to run instead.
function showDaemonDown(error) {
  for (const selector of DAEMON_PARTS) $(selector).hidden = true;
  const setup = error?.code === ERRORS.HOST_UNAVAILABLE;
  $("#daemon-down-why").textContent = setup
    ? "vauth is not set up in this browser yet, so your passkeys cannot be shown or changed here. Run this command once, then choose Check again:"
    : error?.code === ERRORS.DAEMON_UNAVAILABLE
      ? "vauth is not running, so your passkeys cannot be shown or changed here. Start it with this command, then choose Check again:"
      : `vauth cannot be reached: ${describe(error)}`;
  $("#daemon-down-command").textContent = setup ? setupCommand() : startCommand(error);
  $("#daemon-down-command").hidden = !setup && error?.code !== ERRORS.DAEMON_UNAVAILABLE;
  $("#daemon-down").hidden = false;
}

// The `vauth ...` commands this page names, as the native host says vauth is typed here.
async function showCommands() {
  const hello = await daemon(ACTIONS.HOST_HELLO).catch(() => null);
  if (!hello?.command) return;
  useVauthCommand(hello.command); // and in the daemon's sentences (`vauth sync init FOLDER`)
  for (const node of document.querySelectorAll("code.vauth-command")) node.textContent = `${hello.command} ${node.dataset.args}`;
}

// Unlocked: the vault's sections; otherwise one sentence in their place.
function showVault(open, note) {
  for (const selector of VAULT_SECTIONS) $(selector).hidden = !open;
  $("#locked-note").hidden = open;
  $("#locked-note").textContent = note;
}

const SORTS = {
  site: (a, b) => a.rpId.localeCompare(b.rpId) || account(a).localeCompare(account(b)),
  lastUsed: (a, b) => (b.lastUsed ?? 0) - (a.lastUsed ?? 0) || (b.created ?? 0) - (a.created ?? 0),
  created: (a, b) => (b.created ?? 0) - (a.created ?? 0),
};

function showPasskeys() {
  const words = $("#search").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const shown = passkeys.filter((c) => {
    const text = [c.rpId, c.userName, c.userDisplayName, c.nickname, c.credentialId].join(" ").toLowerCase();
    return words.every((w) => text.includes(w));
  }).sort(SORTS[$("#sort").value] ?? SORTS.site);
  $("#passkey-count").textContent = shown.length === passkeys.length
    ? `${passkeys.length} passkey${passkeys.length === 1 ? "" : "s"}`
    : `${shown.length} of ${passkeys.length} passkeys`;
  const card = (c) => el("li", {}, passkeyDetails(c, {
    onChange: refresh, onError: failIn("passkeys"), onNotice: notice, showSite: !$("#group").checked,
  }));
  if (!$("#group").checked) return void $("#passkeys").replaceChildren(...shown.map(card));
  const groups = new Map();
  for (const c of shown) groups.set(c.rpId, [...(groups.get(c.rpId) ?? []), c]);
  $("#passkeys").replaceChildren(...[...groups].map(([rpId, list]) =>
    el("li", { class: "site-group", dataset: { rpId } },
      el("h3", {}, `${rpId} (${list.length})`),
      el("ul", {}, list.map(card)))));
}

function notice(text) {
  $("#passkeys-result").textContent = text;
  $("#passkeys-result").hidden = !text;
}

// The audit log's words, as a person would say them (the protocol's names stay in the log).
const WHAT = {
  makeCredential: "Created", getAssertion: "Signed in", delete: "Moved to the trash",
  restore: "Restored from the trash", purge: "Deleted for good", rename: "Renamed",
  update: "Changed by the site", import: "Imported", deleteAll: "Deleted every passkey",
};
const OUTCOME = {
  ok: "Done", OPERATION_DENIED: "Refused", NO_CREDENTIALS: "No passkey for this site",
  CREDENTIAL_EXCLUDED: "Already saved", USER_ACTION_TIMEOUT: "Took too long",
  NOT_ALLOWED: "Refused", KEEPALIVE_CANCEL: "Cancelled", PIN_INVALID: "Wrong PIN",
};

async function showAudit() {
  const entries = await daemon(ACTIONS.AUDIT, { limit: 200 });
  const byId = new Map(passkeys.map((c) => [c.credentialId, c]));
  $("#audit tbody").replaceChildren(...entries.map((e) => {
    const c = byId.get(e.credentialId);
    return el("tr", { class: "audit-entry", dataset: { ceremony: e.ceremony, outcome: e.outcome } },
      el("td", {}, when(e.at)), el("td", { class: "what" }, WHAT[e.ceremony] ?? "Changed"), el("td", {}, e.rpId ?? ""),
      el("td", {}, c ? c.nickname || account(c) : e.credentialId ? "a passkey no longer in vauth" : ""),
      el("td", { class: "outcome" }, OUTCOME[e.outcome] ?? "Failed"),
      el("td", { class: "actor" }, plain(e.actor)), el("td", { class: "detail" }, plain(e.detail)));
  }));
}

// A daemon sentence without the protocol's own names in parentheses, nor `backticks`.
const plain = (text) => (text ? text.replace(/`([^`]*)`/g, "$1").replace(/ \((signal\w+|[a-z]+[A-Z]\w*)\)/g, "") : "");

async function showTrash() {
  const trashed = await daemon(ACTIONS.TRASH_LIST);
  $("#empty-trash").hidden = !trashed.length;
  $("#empty-trash-confirm").hidden = true;
  $("#trash tbody").replaceChildren(...trashed.map((t) =>
    el("tr", { class: "trashed", dataset: { credentialId: t.credentialId } },
      el("td", {}, t.rpId || "(an older security-key site)"), el("td", {}, account(t)),
      el("td", {}, when(t.deletedAt)), el("td", {}, t.deletedBy ?? ""), el("td", {}, when(t.purgeAt)),
      el("td", {}, el("button", { type: "button", class: "restore", "aria-label": `Restore the passkey for ${account(t)} at ${t.rpId}`,
        onclick: () => restore(t.credentialId) }, "Restore")))));
}

async function restore(credentialId) {
  try {
    await daemon(ACTIONS.TRASH_RESTORE, { credentialId });
    $("#trash-result").textContent = "Restored: it works again.";
  } catch (error) {
    failIn("trash")(error);
  }
  await refresh();
}

// What cannot travel in the chosen format, said before the person exports.
async function showExportNotice() {
  const notice = await daemon(ACTIONS.EXPORT_NOTICE, { format: $("#export-format").value });
  $("#export-notice").textContent = `The file will hold ${notice.count} passkey${notice.count === 1 ? "" : "s"}. ${notice.notice}`;
}

async function showSettings() {
  const settings = await call(MSG.SETTINGS_GET);
  $("#global-choice").value = settings.global;
  $("#sites tbody").replaceChildren(...Object.entries(settings.sites).map(([origin, choice]) =>
    el("tr", { class: "site", dataset: { origin } },
      el("td", {}, origin), el("td", {}, CHOICE_TEXT[choice] ?? choice),
      el("td", {}, el("button", { type: "button", class: "site-remove", "aria-label": `Forget the choice for ${origin}, and ask again there`,
        onclick: () => setSettings({ sites: { [origin]: null } }) }, "Forget")))));
}

async function setSettings(patch) {
  await call(MSG.SETTINGS_SET, { patch }).catch(failIn("sites"));
  await showSettings().catch(failIn("sites"));
}

// -- Devices (sync between computers, issue 13) ---------------------------------------------------

async function showDevices() {
  const status = await daemon(ACTIONS.SYNC_STATUS);
  $("#sync-off").hidden = Boolean(status.configured);
  $("#sync-on").hidden = !status.configured;
  if (!status.configured) return;
  $("#sync-folder").textContent = status.joined
    ? `Your synced passkeys travel through ${status.folder}.`
    : `This computer asked to join through ${status.folder}; approve it on one of your other computers.`;
  $("#sync-default").value = (await daemon(ACTIONS.SYNC_DEFAULT)).default;
  $("#sync-devices tbody").replaceChildren(...status.devices.map(deviceRow));
  $("#sync-pending").replaceChildren(...status.pending.map(pendingRequest));
  $("#sync-refused").replaceChildren(...status.refused.map((refusal) =>
    el("li", {}, `Refused ${refusal.path} (${when(refusal.at * 1000)}): ${refusal.reason}. ${refusal.repair || ""}`)));
  if (status.lastError) showError($("#devices-error"), { message: `The last sync failed: ${status.lastError}` });
}

function deviceRow(device) {
  const name = device.thisDevice ? `${device.name} (this computer)` : device.name;
  const seen = device.removed ? "removed" : device.lastSeen ? when(device.lastSeen * 1000) : "nothing yet";
  const remove = device.thisDevice || device.removed ? "" : el("button", {
    type: "button",
    onclick: () => removeDevice(device),
  }, "Remove");
  return el("tr", { dataset: { deviceId: device.deviceId } }, el("td", {}, name), el("td", {}, seen), el("td", {}, remove));
}

// A join request: its fingerprint, to compare with what the new computer shows, before approving.
function pendingRequest(request) {
  const same = el("input", { type: "checkbox", id: `same-${request.deviceId}` });
  const approve = el("button", { type: "button", class: "primary", disabled: true }, `Approve ${request.name}`);
  same.addEventListener("change", () => { approve.disabled = !same.checked; });
  approve.addEventListener("click", async () => {
    approve.disabled = true;
    try {
      await daemon(ACTIONS.SYNC_APPROVE, { deviceId: request.deviceId, fingerprint: request.fingerprint });
      await showDevices();
    } catch (error) {
      failIn("devices")(error);
      approve.disabled = !same.checked;
    }
  });
  return el("div", { class: "stack pending", dataset: { deviceId: request.deviceId } },
    el("p", {}, `${request.name} asks to join. Its fingerprint is:`),
    el("p", { class: "fingerprint" }, request.fingerprint),
    el("label", { for: same.id }, same, ` ${request.name} shows exactly this fingerprint`),
    approve);
}

async function removeDevice(device) {
  if (!confirm(`Remove ${device.name}? It will not be able to read anything written from now on.`)) return;
  try {
    await daemon(ACTIONS.SYNC_REMOVE, { deviceId: device.deviceId });
    await showDevices();
  } catch (error) {
    failIn("devices")(error);
  }
}

$("#sync-default").addEventListener("change", () =>
  daemon(ACTIONS.SYNC_DEFAULT, { default: $("#sync-default").value }).catch(failIn("devices")));

$("#check-again").addEventListener("click", refresh);
$("#search").addEventListener("input", showPasskeys);
$("#sort").addEventListener("change", showPasskeys);
$("#group").addEventListener("change", showPasskeys);
$("#unlock-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  showError($("#unlock-error"), null);
  try {
    await daemon(ACTIONS.UNLOCK, { passphrase: $("#passphrase").value });
    $("#passphrase").value = "";
  } catch (error) {
    return failIn("unlock")(error);
  }
  await refresh();
});
$("#recover-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const recoveryKey = $("#recovery-key").value.trim();
  const passphrase = $("#recover-passphrase").value;
  showError($("#recover-error"), null);
  if (passphrase !== $("#recover-again").value) return failIn("recover")({ message: "The two passphrases differ. Type the new one again." });
  $("#recover-result").textContent = "Setting the new passphrase…";
  try {
    await daemon(ACTIONS.RECOVER, { recoveryKey, new: passphrase });
  } catch (error) {
    $("#recover-result").textContent = "";
    return failIn("recover")(error.code === ERRORS.WRONG_PASSPHRASE
      ? { message: "That recovery key does not open this vault, so nothing was changed. Check it for typing mistakes, and that it is the newest key you were given." }
      : error);
  }
  for (const id of ["#recovery-key", "#recover-passphrase", "#recover-again"]) $(id).value = "";
  $("#recover-result").textContent = "Your new passphrase is set, and the vault is unlocked.";
  $("#recover-section").open = false;
  await refresh();
});
$("#recovery-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const { recoveryKey } = await daemon(ACTIONS.RECOVERY_KEY_NEW, { passphrase: $("#recovery-passphrase").value });
    $("#recovery-passphrase").value = "";
    $("#new-key").textContent = recoveryKey;
    $("#recovery-key-shown").hidden = false;
    showError($("#recovery-error"), null);
  } catch (error) {
    failIn("recovery")(error);
  }
});
$("#saved-key").addEventListener("click", () => {
  $("#new-key").textContent = "";
  $("#recovery-key-shown").hidden = true;
});
$("#lock").addEventListener("click", async () => {
  clearErrors();
  await daemon(ACTIONS.LOCK).catch(fail);
  passkeys = [];
  showPasskeys();
  await refresh();
});

$("#export-format").addEventListener("change", () => {
  // A KeePass database is always encrypted.
  const alwaysEncrypted = $("#export-format").value === "keepassxc";
  if (alwaysEncrypted) $("#export-plaintext").checked = false;
  $("#export-plaintext").disabled = alwaysEncrypted;
  for (const id of ["#export-passphrase", "#export-passphrase-again"]) $(id).disabled = $("#export-plaintext").checked;
  showExportNotice().catch(failIn("export"));
});
$("#export-plaintext").addEventListener("change", () => {
  for (const id of ["#export-passphrase", "#export-passphrase-again"]) $(id).disabled = $("#export-plaintext").checked;
});
// The downloaded file's name ends as the format's own files do.
const EXPORT_EXTENSIONS = {
  cxf: (encrypted) => (encrypted ? "cxf.enc" : "cxf.json"),
  keepassxc: () => "kdbx",
  bitwarden: (encrypted) => (encrypted ? "bitwarden-encrypted.json" : "bitwarden.json"),
  webdriver: () => "json",
};
$("#empty-trash").addEventListener("click", () => {
  $("#empty-trash-confirm").hidden = false;
  $("#empty-trash-confirm").focus();
});
$("#empty-trash-confirm").addEventListener("click", async () => {
  try {
    const { deleted } = await daemon(ACTIONS.TRASH_EMPTY);
    $("#trash-result").textContent = `Deleted ${deleted} passkey${deleted === 1 ? "" : "s"} for good.`;
  } catch (error) {
    failIn("trash")(error);
  }
  await refresh();
});
const PLAINTEXT_WARNING =
  "An unencrypted export writes every private key in your vault as plain text: anyone who " +
  "gets the file can sign in as you on every site it holds. Export without encryption?";

$("#export-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const format = $("#export-format").value;
  const plaintext = $("#export-plaintext").checked;
  const passphrase = $("#export-passphrase").value || undefined;
  const vaultPassphrase = $("#export-vault-passphrase").value;
  showError($("#export-error"), null);
  if (!plaintext && !passphrase) {
    return failIn("export")({ message: "Choose a passphrase for the file, or tick Unencrypted." });
  }
  if (!plaintext && passphrase !== $("#export-passphrase-again").value) {
    $("#export-passphrase-again").focus();
    return failIn("export")({ message: "The two passphrases for the file differ. Type the same one in both fields." });
  }
  if (plaintext && !confirm(PLAINTEXT_WARNING)) {
    $("#export-result").textContent = "Nothing was exported.";
    return;
  }
  $("#export-result").textContent = "Exporting…";
  try {
    const exported = await daemon(ACTIONS.EXPORT, {
      format, plaintext, vaultPassphrase, ...(passphrase && !plaintext ? { passphrase } : {}),
    });
    $("#export-vault-passphrase").value = "";
    const stamp = new Date().toISOString().slice(0, 10);
    const extension = EXPORT_EXTENSIONS[format](exported.encrypted);
    download(`vauth-${stamp}.${extension}`, base64ToBytes(exported.data));
    $("#export-result").textContent = `Exported (${exported.encrypted ? "encrypted" : "not encrypted"}).`;
  } catch (error) {
    $("#export-result").textContent = "";
    failIn("export")(error);
  }
});

$("#import-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("#import-file").files[0];
  if (!file) return;
  const passphrase = $("#import-passphrase").value || undefined;
  showError($("#import-error"), null);
  // The worker answers once, so the progress cannot count: it shows that work goes on, and the
  // counts come with the answer.
  $("#import-progress").hidden = false;
  $("#import").disabled = true;
  $("#import-result").textContent = `Importing ${file.name}… This can take a minute for a large file.`;
  try {
    const data = bytesToBase64(new Uint8Array(await file.arrayBuffer()));
    const report = await daemon(ACTIONS.IMPORT, { data, ...(passphrase ? { passphrase } : {}) });
    const skipped = report.skipped.map((s) => s.sentence).join("; ");
    const count = (n) => `${n} passkey${n === 1 ? "" : "s"}`;
    $("#import-result").textContent = (report.imported.length ? `Imported ${count(report.imported.length)}.` : "Nothing was imported.")
      + (report.skipped.length ? ` Skipped ${count(report.skipped.length)}: ${skipped}.` : "")
      + (report.warnings?.length ? ` ${report.warnings.join(" ")}` : "");
    await refresh();
  } catch (error) {
    $("#import-result").textContent = "";
    failIn("import")(error);
  } finally {
    $("#import-progress").hidden = true;
    $("#import").disabled = false;
  }
});

$("#name-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await daemon(ACTIONS.AUTHENTICATOR_NAME, { displayName: $("#display-name").value.trim() });
    $("#name-result").textContent = "Saved.";
    showError($("#name-error"), null);
  } catch (error) {
    failIn("name")(error);
  }
});

$("#global-choice").addEventListener("change", () => setSettings({ global: $("#global-choice").value }));
$("#site-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const site = siteName($("#site-origin").value);
  if (!site) return failIn("sites")({ message: "Give the site by its name, such as example.com." });
  showError($("#sites-error"), null);
  await setSettings({ sites: { [site]: $("#site-choice").value } });
  $("#site-origin").value = "";
});

await refresh();
