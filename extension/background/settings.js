// Where ceremonies go, globally and per site (origin): vauth, the browser's own, or ask.
import { CHOICES, DEFAULT_CHOICE } from "../shared/protocol.js";

const KEY = "settings";
const VALID = new Set(Object.values(CHOICES));

export async function loadSettings() {
  const stored = (await chrome.storage.local.get(KEY))[KEY] ?? {};
  const sites = {};
  for (const [origin, choice] of Object.entries(stored.sites ?? {})) {
    if (VALID.has(choice)) sites[origin] = choice;
  }
  return { global: VALID.has(stored.global) ? stored.global : DEFAULT_CHOICE, sites };
}

// patch: {global?: choice, sites?: {origin: choice | null}} (null removes a site's own choice)
export async function saveSettings(patch = {}) {
  const settings = await loadSettings();
  if (VALID.has(patch.global)) settings.global = patch.global;
  for (const [origin, choice] of Object.entries(patch.sites ?? {})) {
    if (choice === null) delete settings.sites[origin];
    else if (VALID.has(choice) && isOrigin(origin)) settings.sites[origin] = choice;
  }
  await chrome.storage.local.set({ [KEY]: settings });
  return settings;
}

export async function choiceFor(origin) {
  const settings = await loadSettings();
  return settings.sites[origin] ?? settings.global;
}

function isOrigin(text) {
  try {
    return new URL(text).origin === text;
  } catch {
    return false;
  }
}
