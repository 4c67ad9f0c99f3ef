// Where ceremonies go, globally and per site: vauth, the browser's own, or ask.
//
// A site is what the ceremony window names: the passkey's rpId (a host name such as
// "example.com"), because passkeys belong to an rpId, not to one origin. A choice remembered for
// "example.com" applies to every origin whose host is example.com or ends in ".example.com"
// (https://login.example.com, http://example.com:8080, ...); the most specific site wins.
// Settings saved before this rule keyed sites by origin ("https://example.com"): they load as
// that origin's host.
import { CHOICES, DEFAULT_CHOICE } from "../shared/protocol.js";

const KEY = "settings";
const VALID = new Set(Object.values(CHOICES));

// What chrome.storage holds, read once per change rather than once per ceremony (a round trip
// to the browser process on every passkey request; bench/browser_get.py).
let stored = null;
globalThis.chrome?.storage?.onChanged.addListener((changes, area) => {
  if (area === "local" && changes[KEY]) stored = null;
});

async function storedSettings() {
  stored ??= chrome.storage.local.get(KEY).then((items) => items[KEY] ?? {});
  return stored;
}

export async function loadSettings() {
  const stored = await storedSettings();
  const sites = {};
  for (const [name, choice] of Object.entries(stored.sites ?? {})) {
    const site = siteName(name);
    if (site && VALID.has(choice)) sites[site] = choice;
  }
  return { global: VALID.has(stored.global) ? stored.global : DEFAULT_CHOICE, sites };
}

// patch: {global?: choice, sites?: {site: choice | null}} (null removes a site's own choice);
// a site is a host name, or an origin or address whose host is taken.
export async function saveSettings(patch = {}) {
  const settings = await loadSettings();
  if (VALID.has(patch.global)) settings.global = patch.global;
  for (const [name, choice] of Object.entries(patch.sites ?? {})) {
    const site = siteName(name);
    if (!site) continue;
    if (choice === null) delete settings.sites[site];
    else if (VALID.has(choice)) settings.sites[site] = choice;
  }
  await chrome.storage.local.set({ [KEY]: settings });
  stored = null;
  return settings;
}

// The choice for a page at `origin`: {choice, scope: "site" | "global" | null, site}.
export async function rememberedFor(origin) {
  const settings = await loadSettings();
  const site = siteFor(settings.sites, hostOf(origin));
  if (site) return { choice: settings.sites[site], scope: "site", site };
  const scope = settings.global === DEFAULT_CHOICE ? null : "global";
  return { choice: settings.global, scope, site: null };
}

export async function choiceFor(origin) {
  return (await rememberedFor(origin)).choice;
}

// The most specific remembered site that `host` belongs to (itself or a parent domain).
export function siteFor(sites, host) {
  if (!host) return null;
  if (Object.hasOwn(sites, host)) return host;
  if (/^[\d.]+$|^\[|:/.test(host)) return null; // an IP address has no parent domains
  for (let dot = host.indexOf("."); dot !== -1; dot = host.indexOf(".", dot + 1)) {
    const parent = host.slice(dot + 1);
    if (Object.hasOwn(sites, parent)) return parent;
  }
  return null;
}

function hostOf(origin) {
  try {
    return new URL(origin).hostname;
  } catch {
    return null;
  }
}

// "example.com", "https://example.com", "https://example.com/path" -> "example.com"
export function siteName(text) {
  if (typeof text !== "string" || !text.trim()) return null;
  const value = text.trim().toLowerCase();
  const host = value.includes("://") ? hostOf(value) : hostOf(`https://${value}`);
  return host && !host.endsWith(".") ? host : null;
}
