// History and a try-on's page: previews open in the viewer (zoom, full screen, download), and
// deleting asks first and happens in place. Without script the links open the image and the
// delete forms post to the page.
import { api } from "../api.js";
import { initViewer, openViewer } from "./viewer.js";

initViewer();

for (const link of document.querySelectorAll("[data-view]")) {
  link.addEventListener("click", (event) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey) return; // a new tab stays a new tab
    event.preventDefault();
    openViewer(link.dataset.view, { title: link.dataset.title, downloadName: link.dataset.download });
  });
}

for (const form of document.querySelectorAll("[data-delete-form]")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!window.confirm(form.dataset.confirm)) return;
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      await api(`/api/v1/tryon/${form.dataset.job}`, { method: "DELETE" });
    } catch (error) {
      button.disabled = false;
      window.alert(error.message);
      return;
    }
    const card = form.closest("[data-job].history-card");
    if (!card) {
      window.location.assign("/app/history");
      return;
    }
    card.classList.add("is-removed");
    card.addEventListener("transitionend", () => card.remove(), { once: true });
    setTimeout(() => card.remove(), 400);
  });
}

// Try-ons still in progress: ask the API now and then, and show the page again once one has ended.
const waiting = [...document.querySelectorAll("[data-in-progress][data-job]")].map((card) => card.dataset.job);
if (waiting.length) {
  const timer = setInterval(async () => {
    for (const id of waiting) {
      try {
        const job = await api(`/api/v1/tryon/${id}`);
        if (["completed", "failed", "canceled"].includes(job.status)) {
          clearInterval(timer);
          window.location.reload();
          return;
        }
      } catch {
        // Deleted meanwhile, or the network blinked: try again at the next tick.
      }
    }
  }, 3000);
}
