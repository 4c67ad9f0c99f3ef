// Tell the user what vauth did on its own (Signal API clean-ups): a badge, and a notification.
let icon = null;

async function iconUrl() {
  if (icon) return icon;
  const canvas = new OffscreenCanvas(64, 64);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#1f4e8c";
  ctx.fillRect(0, 0, 64, 64);
  ctx.fillStyle = "#ffffff";
  ctx.font = "bold 44px sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText("v", 32, 34);
  const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: "image/png" })).arrayBuffer());
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  icon = `data:image/png;base64,${btoa(binary)}`;
  return icon;
}

export async function tellUser(title, message) {
  try {
    await chrome.action.setBadgeBackgroundColor({ color: "#1f4e8c" });
    await chrome.action.setBadgeText({ text: "!" });
    await chrome.action.setTitle({ title: `vauth: ${message}` });
  } catch (error) {
    console.warn("vauth badge:", error);
  }
  try {
    if (chrome.notifications) {
      await chrome.notifications.create({ type: "basic", iconUrl: await iconUrl(), title, message });
    }
  } catch (error) {
    console.warn("vauth notification:", error);
  }
}
