// One passkey as the popup and the options page show it, with rename and delete.
import { ACTIONS } from "../shared/protocol.js";
import { daemon, el, when } from "./common.js";

const ALGORITHMS = { "-7": "ES256", "-8": "EdDSA", "-35": "ES384", "-36": "ES512", "-257": "RS256" };

// onChange(): after a rename or delete; onError(error)
export function passkeyDetails(c, { onChange, onError, showSite = false }) {
  const id = c.credentialId;
  const title = el("div", { class: "nickname" }, c.nickname || c.userDisplayName || c.userName || "(unnamed)");
  const card = el("div", { class: "passkey", dataset: { credentialId: id, rpId: c.rpId } },
    title,
    el("dl", {},
      showSite ? [el("dt", {}, "Site"), el("dd", { class: "rp-id" }, c.rpId)] : null,
      el("dt", {}, "Account"), el("dd", { class: "account" }, account(c)),
      el("dt", {}, "Created"), el("dd", { class: "created" }, when(c.created)),
      el("dt", {}, "Last used"), el("dd", { class: "last-used" }, when(c.lastUsed)),
      el("dt", {}, "Discoverable"), el("dd", { class: "discoverable" }, c.discoverable
        ? "yes: the site can offer it to you without asking for your account name"
        : "no: you give the site your account name first, and the site tells vauth which passkey to use"),
      el("dt", {}, "Algorithm"), el("dd", { class: "algorithm" }, ALGORITHMS[c.algorithm] ?? String(c.algorithm)),
    ),
  );
  const renameInput = el("input", { type: "text", class: "rename-input", value: c.nickname ?? "", "aria-label": `Nickname for ${account(c)}`, maxlength: 200 });
  const renameForm = el("form", { class: "row rename-form", hidden: true }, renameInput,
    el("button", { type: "submit", class: "rename-save primary" }, "Save name"),
    el("button", { type: "button", class: "rename-cancel", onclick: () => (renameForm.hidden = true) }, "Keep"));
  renameForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await daemon(ACTIONS.CREDENTIALS_RENAME, { credentialId: id, nickname: renameInput.value.trim() });
      await onChange();
    } catch (error) {
      onError(error);
    }
  });
  const confirm = el("button", { type: "button", class: "delete-confirm danger", hidden: true,
    title: "It stops working at once. You can restore it from the trash for 30 days." }, "Move it to the trash");
  confirm.addEventListener("click", async () => {
    try {
      await daemon(ACTIONS.CREDENTIALS_DELETE, { credentialId: id });
      await onChange();
    } catch (error) {
      onError(error);
    }
  });
  const buttons = el("div", { class: "row" },
    el("button", { type: "button", class: "rename", onclick: () => { renameForm.hidden = false; renameInput.focus(); } }, "Rename"),
    el("button", { type: "button", class: "delete danger", onclick: () => { confirm.hidden = false; confirm.focus(); } }, "Delete"),
    confirm);
  card.append(buttons, renameForm);
  return card;
}

export function account(c) {
  if (c.userDisplayName && c.userName && c.userDisplayName !== c.userName) return `${c.userDisplayName} (${c.userName})`;
  return c.userDisplayName || c.userName || "(no name)";
}
