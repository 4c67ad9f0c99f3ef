// Keep the service worker alive while a ceremony waits for a person (MV3 stops idle workers, and
// that would close the native port mid-ceremony). Any extension API call resets the idle timer.
let holders = 0;
let timer = null;

export function hold() {
  if (holders++ === 0) timer = setInterval(() => chrome.runtime.getPlatformInfo(), 20_000);
}

export function release() {
  if (holders > 0 && --holders === 0) {
    clearInterval(timer);
    timer = null;
  }
}
