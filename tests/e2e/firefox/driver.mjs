// Drives Debian's firefox-esr over WebDriver BiDi for vauth's end-to-end tests (tests/e2e/firefox/).
//
//   node driver.mjs FIREFOX ADDON_DIR PROFILE_DIR
//
// launches Firefox headless (with the environment it was given: the test's HOME, where the native
// host's manifest is), installs ADDON_DIR as a temporary add-on (BiDi webExtension.install), prints
// {"ready": true, "version": ...} and then answers JSON lines on stdin, one reply line each:
//   {"id": 1, "op": "open", "url": URL}                    -> {"id": 1, "result": PAGE}
//   {"id": 2, "op": "evaluate", "page": PAGE, "expression": JS, "frame": NAME?}
//                                                            -> {"id": 2, "result": VALUE}
//   {"id": 3, "op": "close", "page": PAGE}                  -> {"id": 3, "result": null}
// A failure is {"id": N, "error": MESSAGE}. End of stdin closes Firefox and exits.
import { createInterface } from "node:readline";
import puppeteer from "puppeteer-core";

const [firefox, addon, profile] = process.argv.slice(2);
const pages = new Map();
let nextPage = 1;

const send = (message) => process.stdout.write(JSON.stringify(message) + "\n");

function pageOf(id) {
  const page = pages.get(id);
  if (!page) throw new Error(`no page ${id}`);
  return page;
}

// A frame by its name (puppeteer's Frame.name() is not available over BiDi: ask window.name).
async function frameOf(page, name) {
  if (!name) return page.mainFrame();
  for (const frame of page.mainFrame().childFrames()) {
    if ((await frame.evaluate("window.name").catch(() => null)) === name) return frame;
  }
  throw new Error(`no frame named ${name}`);
}

const OPS = {
  async open({ url }) {
    const page = await browser.newPage();
    await page.goto(url, { waitUntil: "load" });
    const id = nextPage++;
    pages.set(id, page);
    return id;
  },
  async evaluate({ page, expression, frame }) {
    const value = await (await frameOf(pageOf(page), frame)).evaluate(expression);
    return value === undefined ? null : value;
  },
  async close({ page }) {
    await pageOf(page).close();
    pages.delete(page);
    return null;
  },
};

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: firefox,
  protocol: "webDriverBiDi",
  headless: true,
  userDataDir: profile,
  extraPrefsFirefox: {
    // No updates, studies or remote settings: the tests have no network but 127.0.0.1.
    "app.update.enabled": false,
    "extensions.update.enabled": false,
    "datareporting.policy.dataSubmissionEnabled": false,
    "browser.shell.checkDefaultBrowser": false,
  },
});
await browser.installExtension(addon);
send({ ready: true, version: await browser.version() });

const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  let request;
  try {
    request = JSON.parse(line);
    const op = OPS[request.op];
    if (!op) throw new Error(`unknown op ${request.op}`);
    send({ id: request.id, result: await op(request) });
  } catch (error) {
    send({ id: request?.id ?? null, error: String(error?.message ?? error) });
  }
});
lines.on("close", async () => {
  await browser.close().catch(() => {});
  process.exit(0);
});
