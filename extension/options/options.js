// The options page: every passkey (search, rename, delete), the trash, the audit log (uses and
// changes, with who made them), export (saying first what cannot travel) and import,
// the authenticator's name and where passkey requests go (globally and per site).
import { ACTIONS, ERRORS, MSG } from "../shared/protocol.js";
import { $, base64ToBytes, bytesToBase64, call, daemon, download, el, showError, when } from "../ui/common.js";
import { account, passkeyDetails } from "../ui/passkeys.js";

let passkeys = [];
const CHOICE_TEXT = { ask: "ask each time", vauth: "vauth", browser: "the browser's own authenticators" };
const fail = (error) => showError($("#error"), error);

async function refresh() {
  showError($("#error"), null);
  await showSettings().catch(fail);
  let status;
  try {
    status = await daemon(ACTIONS.STATUS);
  } catch (error) {
    $("#lock-state").textContent = "not running";
    return fail(error);
  }
  const locked = Boolean(status.vault?.locked);
  $("#lock-state").textContent = status.vault ? (locked ? "locked" : "unlocked") : "no vault";
  $("#lock").hidden = !status.vault || locked;
  $("#unlock-form").hidden = !locked;
  $("#recover-section").hidden = !locked;
  $("#recovery-section").hidden = !status.vault || locked;
  if (document.activeElement !== $("#display-name")) $("#display-name").value = status.displayName ?? "";
  if (locked) return;
  try {
    passkeys = await daemon(ACTIONS.CREDENTIALS_LIST);
    showPasskeys();
    await showTrash();
    await showExportNotice();
    await showAudit();
  } catch (error) {
    fail(error);
  }
}

function showPasskeys() {
  const words = $("#search").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const shown = passkeys.filter((c) => {
    const text = [c.rpId, c.userName, c.userDisplayName, c.nickname, c.credentialId].join(" ").toLowerCase();
    return words.every((w) => text.includes(w));
  });
  $("#passkey-count").textContent = `${shown.length} of ${passkeys.length}`;
  $("#passkeys").replaceChildren(...shown.map((c) =>
    el("li", {}, passkeyDetails(c, { onChange: refresh, onError: fail, showSite: true }))));
}

async function showAudit() {
  const entries = await daemon(ACTIONS.AUDIT, { limit: 200 });
  const byId = new Map(passkeys.map((c) => [c.credentialId, c]));
  $("#audit tbody").replaceChildren(...entries.map((e) => {
    const c = byId.get(e.credentialId);
    return el("tr", { class: "audit-entry" },
      el("td", {}, when(e.at)), el("td", {}, e.ceremony), el("td", {}, e.rpId ?? ""),
      el("td", {}, c ? c.nickname || account(c) : e.credentialId ? `${e.credentialId.slice(0, 12)}…` : ""),
      el("td", {}, e.outcome), el("td", { class: "actor" }, e.actor ?? ""), el("td", { class: "detail" }, e.detail ?? ""));
  }));
}

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
    fail(error);
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
      el("td", {}, el("button", { type: "button", class: "site-remove", "aria-label": `Forget the choice for ${origin}`,
        onclick: () => setSettings({ sites: { [origin]: null } }) }, "Forget")))));
}

async function setSettings(patch) {
  await call(MSG.SETTINGS_SET, { patch }).catch(fail);
  await showSettings().catch(fail);
}

$("#search").addEventListener("input", showPasskeys);
$("#unlock-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await daemon(ACTIONS.UNLOCK, { passphrase: $("#passphrase").value });
    $("#passphrase").value = "";
  } catch (error) {
    return fail(error);
  }
  await refresh();
});
$("#recover-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const recoveryKey = $("#recovery-key").value.trim();
  const passphrase = $("#recover-passphrase").value;
  if (passphrase !== $("#recover-again").value) return fail({ message: "The two passphrases differ. Type the new one again." });
  $("#recover-result").textContent = "Setting the new passphrase…";
  try {
    await daemon(ACTIONS.RECOVER, { recoveryKey, new: passphrase });
  } catch (error) {
    $("#recover-result").textContent = "";
    return fail(error.code === ERRORS.WRONG_PASSPHRASE
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
  } catch (error) {
    fail(error);
  }
});
$("#saved-key").addEventListener("click", () => {
  $("#new-key").textContent = "";
  $("#recovery-key-shown").hidden = true;
});
$("#lock").addEventListener("click", async () => {
  await daemon(ACTIONS.LOCK).catch(fail);
  passkeys = [];
  showPasskeys();
  await refresh();
});

$("#export-format").addEventListener("change", () => showExportNotice().catch(fail));
$("#empty-trash").addEventListener("click", () => {
  $("#empty-trash-confirm").hidden = false;
  $("#empty-trash-confirm").focus();
});
$("#empty-trash-confirm").addEventListener("click", async () => {
  try {
    const { deleted } = await daemon(ACTIONS.TRASH_EMPTY);
    $("#trash-result").textContent = `Deleted ${deleted} passkey${deleted === 1 ? "" : "s"} for good.`;
  } catch (error) {
    fail(error);
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
    const extension = format === "cxf" ? (exported.encrypted ? "cxf.enc" : "cxf.json") : "json";
    download(`vauth-${stamp}.${extension}`, base64ToBytes(exported.data));
    $("#export-result").textContent = `Exported (${exported.encrypted ? "encrypted" : "not encrypted"}).`;
  } catch (error) {
    $("#export-result").textContent = "";
    fail(error);
  }
});

$("#import-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("#import-file").files[0];
  if (!file) return;
  const passphrase = $("#import-passphrase").value || undefined;
  $("#import-result").textContent = "Importing…";
  try {
    const data = bytesToBase64(new Uint8Array(await file.arrayBuffer()));
    const report = await daemon(ACTIONS.IMPORT, { data, ...(passphrase ? { passphrase } : {}) });
    const skipped = report.skipped.map((s) => s.sentence).join("; ");
    $("#import-result").textContent = `Imported ${report.imported.length}, skipped ${report.skipped.length}${skipped ? ` (${skipped})` : ""}.${report.warnings?.length ? ` ${report.warnings.join(" ")}` : ""}`;
    await refresh();
  } catch (error) {
    $("#import-result").textContent = "";
    fail(error);
  }
});

$("#name-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await daemon(ACTIONS.AUTHENTICATOR_NAME, { displayName: $("#display-name").value.trim() });
    $("#name-result").textContent = "Saved.";
  } catch (error) {
    fail(error);
  }
});

$("#global-choice").addEventListener("change", () => setSettings({ global: $("#global-choice").value }));
$("#site-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  let origin;
  try {
    origin = new URL($("#site-origin").value.trim()).origin;
  } catch {
    return fail({ message: "Give the site as an address, such as https://example.com" });
  }
  await setSettings({ sites: { [origin]: $("#site-choice").value } });
  $("#site-origin").value = "";
});

await refresh();
