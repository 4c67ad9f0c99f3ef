// One passkey as the popup and the options page show it, with rename and delete.
import { ACTIONS } from "../shared/protocol.js";
import { daemon, el, when } from "./common.js";

// onChange(): after a rename or delete; onError(error); onNotice(sentence): what to tell the
// person after a change (shown by the page, since the card itself goes away)
export function passkeyDetails(c, { onChange, onError, onNotice = () => {}, showSite = false }) {
  const id = c.credentialId;
  const title = el("div", { class: "nickname" }, c.nickname || c.userDisplayName || c.userName || "(unnamed)");
  const card = el("div", { class: "passkey", dataset: { credentialId: id, rpId: c.rpId } },
    title,
    el("dl", {},
      showSite ? [el("dt", {}, "Site"), el("dd", { class: "rp-id" }, c.rpId)] : null,
      el("dt", {}, "Account"), el("dd", { class: "account" }, account(c)),
      el("dt", {}, "Created"), el("dd", { class: "created" }, when(c.created)),
      el("dt", {}, "Last used"), el("dd", { class: "last-used" }, when(c.lastUsed)),
      el("dt", {}, "Sign-in"), el("dd", { class: "discoverable" }, c.discoverable
        ? "The site can offer it to you without asking for your account name."
        : "You type your account name first; then the site asks vauth for this passkey."),
    ),
  );
  const renameInput = el("input", { type: "text", class: "rename-input", value: c.nickname ?? "",
    placeholder: "A name only you see", "aria-label": `Nickname for ${account(c)}`, maxlength: 200 });
  const renameForm = el("form", { class: "row rename-form", hidden: true }, renameInput,
    el("button", { type: "submit", class: "rename-save primary" }, "Save name"),
    el("button", { type: "button", class: "rename-cancel", onclick: () => (renameForm.hidden = true) }, "Cancel"));
  renameForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const nickname = renameInput.value.trim();
      await daemon(ACTIONS.CREDENTIALS_RENAME, { credentialId: id, nickname });
      onNotice(nickname ? `Renamed to “${nickname}”.` : `Nickname removed: it shows as ${account(c)} again.`);
      await onChange();
    } catch (error) {
      onError(error);
    }
  });
  const confirmBox = el("div", { class: "delete-box", hidden: true, role: "alertdialog" },
    el("p", { class: "delete-question" },
      `Move the passkey for ${account(c)} on ${c.rpId} to the trash? It stops working at once. You can restore it from the trash for 30 days.`),
    el("div", { class: "row" },
      el("button", { type: "button", class: "delete-confirm danger", onclick: remove }, "Move it to the trash"),
      el("button", { type: "button", class: "delete-cancel", onclick: () => (confirmBox.hidden = true) }, "Cancel")));
  async function remove() {
    try {
      await daemon(ACTIONS.CREDENTIALS_DELETE, { credentialId: id });
      onNotice(afterDelete(c));
      await onChange();
    } catch (error) {
      onError(error);
    }
  }
  const buttons = el("div", { class: "row" },
    el("button", { type: "button", class: "rename", onclick: () => { renameForm.hidden = false; renameInput.focus(); } }, "Rename"),
    el("button", { type: "button", class: "delete danger",
      onclick: () => { confirmBox.hidden = false; confirmBox.querySelector(".delete-confirm").focus(); } }, "Delete"));
  card.append(buttons, renameForm, confirmBox);
  return card;
}

// What a person must know after a delete: the site still has the passkey on its side.
export function afterDelete(c) {
  return `Moved the passkey for ${account(c)} on ${c.rpId} to the trash. ${c.rpId} still lists it `
    + `among your passkeys: to remove it there too, sign in to ${c.rpId}, open your account's `
    + "security or passkey settings and delete it. Until then the site may offer it, and it will not work.";
}

export function account(c) {
  if (c.userDisplayName && c.userName && c.userDisplayName !== c.userName) return `${c.userDisplayName} (${c.userName})`;
  return c.userDisplayName || c.userName || "(no name)";
}
