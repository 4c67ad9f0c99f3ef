// Drives Debian's firefox-esr over WebDriver BiDi for vauth_page and vauth's Firefox tests
//
//   node driver.mjs FIREFOX ADDON_DIR|- PROFILE_DIR
//
// launches Firefox headless (with the environment it was given: the test's HOME, where the native
// host's manifest is), installs ADDON_DIR as a temporary add-on (BiDi webExtension.install; "-"
// for none), gives Firefox its own virtual authenticator (the reference, as Chromium's CDP one is
// in the Chromium tests: internal, discoverable credentials, user verified; reached through the
// remote agent's system access, as Marionette's WebAuthn commands do), prints
// {"ready": true, "version": ..., "authenticator": ITS_ID} and then answers JSON lines on stdin, one reply line each:
//   {"id": 1, "op": "open", "url": URL}                    -> {"id": 1, "result": PAGE}
//   {"id": 2, "op": "evaluate", "page": PAGE, "expression": JS, "frame": NAME?}
//                                                            -> {"id": 2, "result": VALUE}
//   {"id": 3, "op": "close", "page": PAGE}                  -> {"id": 3, "result": null}
//   {"id": 6, "op": "goto", "page": PAGE, "url": URL}       -> {"id": 6, "result": null}
//     (navigates an open page and waits for its load event: vauth_page's goto)
//   {"id": 4, "op": "chrome", "expression": JS}             -> {"id": 4, "result": VALUE}
//     (JS evaluated in the browser's privileged chrome window, its promise awaited)
//   {"id": 5, "op": "window", "expression": JS}             -> {"id": 5, "result": VALUE}
//     (JS evaluated in vauth's ceremony window; null when none is open)
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
  async chrome({ expression }) {
    const tree = await browser.connection.send("browsingContext.getTree", { "moz:scope": "chrome" });
    const context = tree.result.contexts[0].context;
    const answer = await browser.connection.send("script.evaluate", {
      expression,
      target: { context },
      awaitPromise: true,
      resultOwnership: "none",
    });
    if (answer.result.type === "exception") throw new Error(answer.result.exceptionDetails.text);
    return answer.result.result.value ?? null;
  },
  // vauth's ceremony window: BiDi does not reach extension pages, so a frame script, loaded from
  // the chrome window into the window's <browser>, evaluates EXPRESSION there (with `document`
  // the window's); null when no ceremony window is open.
  async window({ expression }) {
    const script = `(async () => {
      let answer;
      try {
        const document = content.document;
        answer = { value: await (async () => (${expression}))() };
      } catch (error) {
        answer = { error: String(error) };
      }
      sendAsyncMessage("vauth-e2e", JSON.stringify(answer));
    })()`;
    const reply = await OPS.chrome({
      expression: `new Promise((resolve) => {
        let found = null;
        for (const win of Services.wm.getEnumerator(null)) {
          for (const b of win.gBrowser?.browsers ?? []) {
            if (b.currentURI.spec.includes("/ui/ceremony.html")) found = b;
          }
        }
        if (!found) return resolve(null);
        const mm = found.messageManager;
        const listener = (message) => {
          mm.removeMessageListener("vauth-e2e", listener);
          resolve(message.data);
        };
        mm.addMessageListener("vauth-e2e", listener);
        mm.loadFrameScript("data:," + encodeURIComponent(${JSON.stringify(script)}), false);
      })`,
    });
    if (reply === null) return null;
    const answer = JSON.parse(reply);
    if ("error" in answer) throw new Error(`in the ceremony window: ${answer.error}`);
    return answer.value ?? null;
  },
  async goto({ page, url }) {
    await pageOf(page).goto(url, { waitUntil: "load" });
    return null;
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
  args: ["--remote-allow-system-access"],
  extraPrefsFirefox: {
    // Firefox's own authenticator is its virtual one (no USB tokens: nothing waits for a touch).
    "security.webauth.webauthn_enable_softtoken": true,
    "security.webauth.webauthn_enable_usbtoken": false,
    // No updates, studies or remote settings: the tests have no network but 127.0.0.1.
    "app.update.enabled": false,
    "extensions.update.enabled": false,
    "datareporting.policy.dataSubmissionEnabled": false,
    "browser.shell.checkDefaultBrowser": false,
  },
});
if (addon !== "-") await browser.installExtension(addon);
const authenticator = await OPS.chrome({
  expression: `Cc["@mozilla.org/webauthn/service;1"].getService(Ci.nsIWebAuthnService)
    .addVirtualAuthenticator("ctap2", "internal", true, true, true, true)`,
});
send({ ready: true, version: await browser.version(), authenticator });

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
