// Generate: checks photos before upload, shows the credit cost, sends the form to the API and follows
// the job live (server-sent events, polling if they fail). Without this script the same form posts
// to /app/generate and the job's page refreshes itself until the result is there.
import { api } from "../api.js";
import { initViewer, openViewer } from "./viewer.js";

const TYPES = ["image/png", "image/jpeg", "image/webp"];

function formatBytes(bytes) {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
const form = document.getElementById("generate-form");

if (form) {
  const maxBytes = Number(form.dataset.maxBytes);
  let balance = Number(form.dataset.balance);
  const submit = form.querySelector("[data-generate-submit]");
  const formError = form.querySelector("[data-form-error]");
  const chosen = new Map(); // field name → File (dropped or picked)
  let lastBody = null;

  initViewer();
  form.classList.add("is-enhanced");

  // -- photos: pick, drop or paste a URL; checked here before anything is uploaded ------------------
  for (const zone of form.querySelectorAll("[data-dropzone]")) {
    const field = zone.dataset.dropzone;
    const input = zone.querySelector('input[type="file"]');
    const url = zone.querySelector('input[type="url"]');
    const preview = zone.querySelector("[data-preview]");
    const note = zone.querySelector("[data-dropzone-note]");
    const error = zone.querySelector("[data-dropzone-error]");

    const show = (file) => {
      error.textContent = "";
      zone.classList.remove("has-error");
      if (!TYPES.includes(file.type)) return fail(`${file.name} is not a PNG, JPEG or WebP image.`);
      if (file.size > maxBytes) return fail(`${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(maxBytes)}.`);
      chosen.set(field, file);
      url.value = "";
      preview.src = URL.createObjectURL(file);
      preview.alt = `Chosen photo: ${file.name}`;
      preview.hidden = false;
      zone.classList.add("has-image");
      note.textContent = `${file.name} · ${formatBytes(file.size)}`;
      update();
    };
    const fail = (message) => {
      chosen.delete(field);
      input.value = "";
      preview.hidden = true;
      zone.classList.remove("has-image");
      zone.classList.add("has-error");
      error.textContent = message;
      update();
    };

    input.addEventListener("change", () => input.files[0] && show(input.files[0]));
    url.addEventListener("input", () => {
      if (url.value.trim()) {
        chosen.delete(field);
        input.value = "";
        preview.hidden = true;
        zone.classList.remove("has-image", "has-error");
        error.textContent = "";
        note.textContent = "The photo will be fetched from this address.";
      }
      update();
    });
    for (const name of ["dragenter", "dragover"]) {
      zone.addEventListener(name, (event) => {
        event.preventDefault();
        zone.classList.add("is-dragging");
      });
    }
    for (const name of ["dragleave", "drop"]) zone.addEventListener(name, () => zone.classList.remove("is-dragging"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      const file = event.dataTransfer.files[0];
      if (file) show(file);
    });
  }

  // -- mode and cost ---------------------------------------------------------------------------------
  const mode = () => form.querySelector('input[name="mode"]:checked');
  const samples = form.querySelector('[name="samples"]');
  const costValue = form.querySelector("[data-cost-value]");
  const costNote = form.querySelector("[data-cost-note]");
  const missingNote = form.querySelector("[data-missing-note]");

  function needed() {
    const fields = ["person_image", "garment_image"];
    if (mode() && "needsBottom" in mode().dataset) fields.push("bottom_image");
    return fields;
  }
  function has(field) {
    const url = form.querySelector(`[name="${field}_url"]`);
    return chosen.has(field) || Boolean(url && url.value.trim());
  }

  function update() {
    const current = mode();
    for (const part of form.querySelectorAll("[data-only-mode]")) {
      part.hidden = !current || !part.dataset.onlyMode.split(" ").includes(current.value);
    }
    // The server's quote for this mode and number of images (one pricing rule, on the server).
    const cost = current ? Number(JSON.parse(current.dataset.quotes)[samples.value]) : 0;
    costValue.textContent = `${cost} credit${cost === 1 ? "" : "s"}`;
    const short = cost > balance;
    costNote.textContent = short
      ? `You have ${balance}; this needs ${cost - balance} more.`
      : `You have ${balance}; ${balance - cost} left after this try-on.`;
    costNote.classList.toggle("is-warning", short);
    const missing = needed().filter((field) => !has(field));
    submit.disabled = short || missing.length > 0;
    const names = { person_image: "your photo", garment_image: "the garment", bottom_image: "the bottom" };
    missingNote.textContent = missing.length ? `Still needed: ${missing.map((field) => names[field]).join(", ")}.` : "";
    const done = {
      person_image: has("person_image"),
      mode: Boolean(current),
      garment_image: needed().filter((field) => field !== "person_image").every(has),
    };
    for (const step of form.querySelectorAll("[data-step]")) step.classList.toggle("is-done", Boolean(done[step.dataset.step]));
  }
  form.addEventListener("change", update);
  update();

  // -- submit: the API call, then the live progress --------------------------------------------------
  function body() {
    const data = new FormData();
    data.set("mode", mode().value);
    for (const name of ["samples", "quality", "garment_photo_type"]) data.set(name, form.querySelector(`[name="${name}"]`).value);
    for (const field of needed()) {
      if (chosen.has(field)) data.set(field, chosen.get(field));
      else data.set(field, form.querySelector(`[name="${field}_url"]`).value.trim());
    }
    return data;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    lastBody = body();
    await start(lastBody);
  });

  document.querySelector("[data-generate-again]")?.addEventListener("click", () => lastBody && start(lastBody));

  async function start(data) {
    formError.hidden = true;
    submit.disabled = true;
    submit.classList.add("is-loading");
    try {
      follow(await api("/api/v1/tryon", { method: "POST", body: data }));
      refreshBalance();
    } catch (error) {
      formError.textContent =
        error.name === "ApiError" ? error.message : "The server could not be reached; check the connection and try again.";
      formError.hidden = false;
    } finally {
      submit.classList.remove("is-loading");
      update();
    }
  }

  /** The top bar's balance and the cost check follow the account's credits (a charge, a refund). */
  async function refreshBalance() {
    try {
      const credits = await api("/api/v1/credits");
      balance = credits.balance;
      for (const value of document.querySelectorAll("[data-balance-value]")) value.textContent = balance.toLocaleString("en");
      for (const unit of document.querySelectorAll("[data-balance-unit]")) unit.textContent = balance === 1 ? "credit" : "credits";
      update();
    } catch {
      // The balance shown stays as it was; the next page load corrects it.
    }
  }

  // -- progress ---------------------------------------------------------------------------------------
  const panel = document.getElementById("generate-progress");
  const label = panel.querySelector("[data-progress-label]");
  const detail = panel.querySelector("[data-progress-detail]");
  const results = panel.querySelector("[data-results]");
  const jobLink = panel.querySelector("[data-job-link]");

  function follow(job) {
    panel.hidden = false;
    results.replaceChildren();
    panel.querySelector("[data-result-actions]").hidden = true;
    jobLink.href = `/app/history/${job.id}`;
    render(job);
    panel.scrollIntoView({ behavior: "smooth", block: "start" });
    let done = false;
    const finish = (current) => {
      render(current);
      if (["completed", "failed", "canceled"].includes(current.status)) {
        done = true;
        if (current.status !== "completed") refreshBalance();
        return true;
      }
      return false;
    };
    if (window.EventSource) {
      const events = new EventSource(job.links.events);
      events.addEventListener("status", (message) => {
        if (finish(JSON.parse(message.data))) events.close();
      });
      events.onerror = () => {
        events.close();
        if (!done) poll(job.links.status, finish);
      };
    } else {
      poll(job.links.status, finish);
    }
  }

  async function poll(url, finish) {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      try {
        if (finish(await api(url))) return;
      } catch {
        // The network blinked: keep trying.
      }
    }
  }

  const STEPS = { queued: 1, processing: 2, completed: 3, failed: 3, canceled: 3 };
  const LABELS = {
    queued: "Waiting for a free worker…",
    processing: "Generating your try-on…",
    completed: "Done",
    failed: "The try-on failed",
    canceled: "Canceled",
  };

  function render(job) {
    panel.dataset.status = job.status;
    label.textContent = LABELS[job.status] || job.status;
    for (const step of panel.querySelectorAll("[data-progress-step]")) {
      const index = Number(step.dataset.progressStep);
      step.classList.toggle("is-done", index < STEPS[job.status] || job.status === "completed");
      step.classList.toggle("is-current", index === STEPS[job.status] && job.status !== "completed");
    }
    if (job.status === "failed" || job.status === "canceled") {
      detail.textContent = `${job.error ? job.error.detail : ""} The ${job.credits_charged} credit${job.credits_charged === 1 ? " was" : "s were"} returned.`;
    } else if (job.status === "completed") {
      detail.textContent = `${job.samples} image${job.samples === 1 ? "" : "s"} · ${job.credits_charged} credit${job.credits_charged === 1 ? "" : "s"} used.`;
      showResults(job);
    } else {
      detail.textContent = "This page updates by itself; you can also leave it and find the result in History.";
    }
  }

  function showResults(job) {
    results.replaceChildren(
      ...job.links.results.map((src, index) => {
        const name = `tryon-${job.id}-${index + 1}.${src.includes(".webp") ? "webp" : "png"}`;
        const figure = document.createElement("figure");
        figure.className = "result-card";
        const button = document.createElement("button");
        button.type = "button";
        button.className = "result-open";
        button.setAttribute("aria-label", `View result ${index + 1} full screen`);
        const image = document.createElement("img");
        image.src = src;
        image.alt = `Try-on result ${index + 1}`;
        button.append(image);
        button.addEventListener("click", () => openViewer(src, { title: `Result ${index + 1}`, downloadName: name }));
        const caption = document.createElement("figcaption");
        const download = document.createElement("a");
        download.href = src;
        download.download = name;
        download.className = "btn btn-secondary btn-sm";
        download.textContent = "Download";
        const full = document.createElement("button");
        full.type = "button";
        full.className = "btn btn-ghost btn-sm";
        full.textContent = "Full screen";
        full.addEventListener("click", () => openViewer(src, { title: `Result ${index + 1}`, downloadName: name }));
        caption.append(full, download);
        figure.append(button, caption);
        return figure;
      }),
    );
    panel.querySelector("[data-result-actions]").hidden = false;
  }
}
