// <trailroom-try-on>: a button that opens a try-on dialog. Defines the element and nothing else.
import { TryOnClient, TryOnError } from "./api.js";
import { CSS } from "./styles.js";
import { STRINGS } from "./strings.js";

const TAG = "trailroom-try-on";
const MB = 1024 * 1024;
// The script's own origin, read while it runs: the default platform address for direct mode.
const SCRIPT_ORIGIN = (() => {
  try {
    return new URL(document.currentScript.src).origin;
  } catch {
    return location.origin;
  }
})();

let sheet = null;
function styleSheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  return sheet;
}

const ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M8 3 4 6l2 4 2-1v12h8V9l2 1 2-4-4-3c-.5 1.5-2 2.5-4 2.5S8.5 4.5 8 3z"/></svg>';

// Text nodes are filled from STRINGS (or the attributes overriding them) after parsing: nothing a page
// passes in is ever parsed as HTML.
const MARKUP = `
<button type="button" class="launch" part="button">${ICON}<span data-t="button-label"></span></button>
<dialog part="dialog" aria-labelledby="title" aria-modal="true" data-state="pick">
  <header><h2 id="title" data-t="dialog-title"></h2>
    <button type="button" class="close" data-ref="close" data-t-label="close-label">\u00d7</button></header>
  <div class="body">
    <p class="error" role="alert" data-ref="error" hidden></p>
    <section data-view="pick">
      <div class="garment"><img data-ref="garment" alt=""><p class="muted" data-t="intro-text"></p></div>
      <div class="row">
        <button type="button" data-ref="choose" data-t="choose-label"></button>
        <button type="button" class="secondary" data-ref="camera" data-t="camera-label" hidden></button>
      </div>
      <p class="muted hint" data-ref="hint"></p>
      <input type="file" accept="image/jpeg,image/png,image/webp,image/*" data-ref="file" hidden>
      <input type="file" accept="image/*" capture="user" data-ref="capture" hidden>
    </section>
    <section data-view="preview" hidden>
      <div class="frame"><img data-ref="preview"></div>
      <label class="consent"><input type="checkbox" data-ref="consent">
        <span><span data-t="consent-text"></span> <a data-ref="privacy" target="_blank" rel="noopener" data-t="privacy-label" hidden></a></span></label>
      <div class="row">
        <button type="button" data-ref="submit" data-t="submit-label" disabled></button>
        <button type="button" class="secondary" data-ref="change" data-t="change-label"></button>
      </div>
    </section>
    <section data-view="progress" hidden>
      <div class="frame pending"><img data-ref="pending" alt=""></div>
      <div class="bar" aria-hidden="true"></div>
    </section>
    <section data-view="result" hidden>
      <div class="frame compare" data-ref="compare">
        <img data-ref="after"><img class="before" data-ref="before" alt="">
        <span class="divider" aria-hidden="true"></span>
        <span class="tag b" aria-hidden="true" data-t="before-label"></span><span class="tag a" aria-hidden="true" data-t="after-label"></span>
        <input type="range" min="0" max="100" value="50" data-ref="slider" data-t-label="compare-label">
      </div>
      <div class="row">
        <a class="btn" data-ref="download" download="try-on" data-t="download-label"></a>
        <button type="button" class="secondary" data-ref="again" data-t="retry-label"></button>
      </div>
    </section>
    <section data-view="error" hidden>
      <div class="row"><button type="button" data-ref="back" data-t="back-label"></button></div>
    </section>
    <p class="status" role="status" aria-live="polite" data-ref="status"></p>
  </div>
</dialog>`;

class TrailRoomTryOn extends HTMLElement {
  // Text attributes apply at once (`theme` is read by the stylesheet through :host([theme])).
  static observedAttributes = ["label", "privacy-url", "max-bytes", ...Object.keys(STRINGS)];

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    root.adoptedStyleSheets = [styleSheet()];
    root.innerHTML = MARKUP;
    this.ref = {};
    for (const el of root.querySelectorAll("[data-ref]")) this.ref[el.dataset.ref] = el;
    this.launch = root.querySelector(".launch");
    this.dialog = root.querySelector("dialog");
    this.view = "pick";
    this.photo = null;
    this.photoUrl = "";
    this.run = null; // the AbortController of the job being followed
    this.wire();
  }

  connectedCallback() {
    this.translate();
  }

  disconnectedCallback() {
    if (this.run) {
      this.run.abort(new TryOnError("closed", ""));
      this.show(this.photo ? "preview" : "pick", false);
    }
    if (this.dialog.open) this.dialog.close();
  }

  t(name, n) {
    const text = this.getAttribute(name) ?? (name === "button-label" ? this.getAttribute("label") : null) ?? STRINGS[name];
    return n === undefined ? text : text.replace("{n}", n);
  }

  translate() {
    const root = this.shadowRoot;
    for (const el of root.querySelectorAll("[data-t]")) el.textContent = this.t(el.dataset.t);
    for (const el of root.querySelectorAll("[data-t-label]")) el.setAttribute("aria-label", this.t(el.dataset.tLabel));
    const { garment, preview, after, privacy, camera } = this.ref;
    garment.alt = this.t("garment-alt");
    preview.alt = this.t("preview-alt");
    after.alt = this.t("result-alt");
    this.ref.hint.textContent = this.t("hint-text", this.maxSize());
    const privacyUrl = webUrl(this.getAttribute("privacy-url"));
    privacy.hidden = !privacyUrl;
    if (privacyUrl) privacy.href = privacyUrl;
    // Phones and tablets get a second button that opens the front camera directly.
    camera.hidden = !matchMedia("(pointer: coarse)").matches;
  }

  wire() {
    const { close, choose, camera, file, capture, consent, submit, change, slider, again, back } = this.ref;
    this.launch.addEventListener("click", () => this.open());
    close.addEventListener("click", () => this.close());
    this.dialog.addEventListener("cancel", (event) => {
      event.preventDefault(); // Escape: close our way (events, focus), not the browser's
      this.close();
    });
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.close(); // a click on the backdrop
    });
    this.dialog.addEventListener("keydown", (event) => this.trapFocus(event));
    choose.addEventListener("click", () => file.click());
    camera.addEventListener("click", () => capture.click());
    for (const input of [file, capture]) input.addEventListener("change", () => this.picked(input));
    consent.addEventListener("change", () => (submit.disabled = !consent.checked));
    submit.addEventListener("click", () => this.submit());
    change.addEventListener("click", () => this.show("pick"));
    again.addEventListener("click", () => this.show(this.photo ? "preview" : "pick"));
    back.addEventListener("click", () => this.show(this.photo ? "preview" : "pick"));
    slider.addEventListener("input", () => this.ref.compare.style.setProperty("--pos", `${slider.value}%`));
  }

  attributeChangedCallback() {
    if (this.isConnected) this.translate();
  }

  emit(name, detail = {}) {
    this.dispatchEvent(new CustomEvent(`trailroom:${name}`, { detail, bubbles: true, composed: true }));
  }

  open() {
    if (this.dialog.open) return;
    this.translate();
    this.ref.garment.src = this.garmentUrl();
    // A stale file complaint goes; a try-on's failure (maybe while the dialog was closed) stays.
    if (this.view === "pick") this.ref.error.hidden = true;
    this.dialog.showModal();
    this.focusView();
    this.emit("open");
  }

  close() {
    if (!this.dialog.open) return;
    this.dialog.close();
    this.launch.focus();
    this.emit("close");
  }

  garmentUrl() {
    return this.getAttribute("garment-image") || "";
  }

  show(view, focus = true) {
    this.view = view;
    this.dialog.dataset.state = view;
    for (const section of this.shadowRoot.querySelectorAll("[data-view]")) section.hidden = section.dataset.view !== view;
    if (view !== "error" && view !== "pick") this.ref.error.hidden = true;
    if (view !== "progress") this.say("");
    if (focus && this.dialog.open) this.focusView();
  }

  focusView() {
    const first = {
      pick: this.ref.choose,
      preview: this.ref.consent,
      progress: this.ref.close,
      result: this.ref.slider,
      error: this.ref.back,
    }[this.view];
    first.focus();
  }

  focusable() {
    return [...this.dialog.querySelectorAll("button, a[href], input:not([type=file])")].filter(
      (el) => !el.disabled && el.getClientRects().length > 0,
    );
  }

  trapFocus(event) {
    if (event.key !== "Tab") return;
    const items = this.focusable();
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    const active = this.shadowRoot.activeElement;
    if (event.shiftKey && (active === first || !items.includes(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !items.includes(active))) {
      event.preventDefault();
      first.focus();
    }
  }

  say(text) {
    this.ref.status.textContent = text;
  }

  maxBytes() {
    const value = Number(this.getAttribute("max-bytes"));
    return Number.isFinite(value) && value > 0 ? value : 10 * MB;
  }

  maxSize() {
    const bytes = this.maxBytes();
    return bytes >= MB ? `${Math.floor((bytes / MB) * 10) / 10} MB` : `${Math.max(1, Math.floor(bytes / 1024))} KB`;
  }

  async picked(input) {
    const photo = input.files && input.files[0];
    input.value = ""; // choosing the same file again must fire `change` again
    if (!photo) return;
    const problem = await this.checkPhoto(photo);
    if (problem) {
      this.fail(problem, "pick");
      return;
    }
    this.ref.error.hidden = true;
    if (this.photoUrl) URL.revokeObjectURL(this.photoUrl);
    this.photo = photo;
    this.photoUrl = URL.createObjectURL(photo);
    this.ref.preview.src = this.photoUrl;
    this.ref.consent.checked = false;
    this.ref.submit.disabled = true;
    this.show("preview");
  }

  /** The file's first bytes decide its type (a renamed document is not a photo). */
  async checkPhoto(photo) {
    const head = new Uint8Array(await photo.slice(0, 12).arrayBuffer());
    const ascii = (from, to) => String.fromCharCode(...head.slice(from, to));
    const isImage =
      (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) ||
      ascii(1, 4) === "PNG" ||
      (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP");
    if (!isImage) return new TryOnError("invalid_file", this.t("error-file-type"));
    const limit = this.maxBytes();
    if (photo.size > limit) return new TryOnError("file_too_large", this.t("error-file-size", this.maxSize()));
    return null;
  }

  client() {
    const endpoint = this.getAttribute("endpoint") || this.getAttribute("proxy-url");
    const key = this.getAttribute("publishable-key");
    if (!endpoint && !(key && key.startsWith("tr_pk_"))) {
      // A secret key must never be in a page: refuse it rather than send it anywhere.
      console.error(
        key && key.startsWith("tr_sk_")
          ? "<trailroom-try-on>: a secret key (tr_sk_…) must never be in a page; use a publishable key (tr_pk_…)"
          : "<trailroom-try-on>: set endpoint (your proxy) or publishable-key (tr_pk_…)",
      );
      throw new TryOnError("not_configured", this.t("error-unavailable"), {
        detail: "set endpoint (proxy mode) or publishable-key (tr_pk_…)",
      });
    }
    return new TryOnClient({
      endpoint,
      publishableKey: key,
      apiBase: this.getAttribute("api-base") || SCRIPT_ORIGIN,
      csrfToken: this.getAttribute("csrf-token"),
    });
  }

  async submit() {
    if (!this.photo || !this.ref.consent.checked) return;
    if (this.run) this.run.abort(new TryOnError("closed", ""));
    const run = (this.run = new AbortController());
    const seconds = Number(this.getAttribute("timeout")) || 120;
    const timer = setTimeout(() => run.abort(new TryOnError("timeout", this.t("error-timeout"))), seconds * 1000);
    this.ref.pending.src = this.photoUrl;
    this.show("progress");
    this.say(this.t("uploading-text"));
    try {
      const client = this.client();
      const created = await client.create({
        photo: this.photo,
        garmentUrl: this.garmentUrl(),
        mode: this.getAttribute("mode") || "top",
        signal: run.signal,
      });
      const job = await client.follow(created, (update) => this.progress(update), run.signal);
      if (job.status !== "completed") {
        const error = job.error || {};
        throw new TryOnError(error.code || `job_${job.status}`, error.detail || this.t("error-failed"), {
          detail: error.detail,
        });
      }
      const urls = client.resultUrls(job).map(webUrl).filter(Boolean);
      if (!urls.length) throw new TryOnError("no_result", this.t("error-failed"));
      this.showResult(urls[0]);
      this.emit("result", { jobId: job.id, resultUrl: urls[0], resultUrls: urls });
    } catch (error) {
      if (this.run === run) this.fail(error, "error");
    } finally {
      clearTimeout(timer);
      if (this.run === run) this.run = null;
    }
  }

  progress(job) {
    const text = { queued: "queued-text", processing: "processing-text" }[job.status];
    if (text) this.say(this.t(text));
  }

  showResult(url) {
    const { after, before, download, slider, compare } = this.ref;
    after.src = url;
    before.src = this.photoUrl;
    download.href = url;
    slider.value = "50";
    compare.style.setProperty("--pos", "50%");
    this.show("result");
    this.say(this.t("result-title"));
  }

  /** Show a failure in words a shopper understands and tell the page (`trailroom:error`). */
  fail(error, view) {
    const e = error instanceof TryOnError ? error : new TryOnError("unexpected", String((error && error.message) || error));
    if (e.code === "closed") return;
    const message = this.explain(e);
    this.ref.error.textContent = message;
    this.ref.error.hidden = false;
    this.show(view, false);
    if (this.dialog.open) (view === "pick" ? this.ref.choose : this.ref.back).focus();
    this.emit("error", { code: e.code, message, status: e.status });
  }

  explain(e) {
    if (e.code === "network") return this.t("error-network");
    if (e.code === "timeout") return this.t("error-timeout");
    if (e.code === "origin_not_allowed") return this.t("error-origin", location.origin);
    if (e.status === 402) return this.t("error-no-credits");
    if (e.status === 429) return this.t("error-rate-limit", waitText(e.retryAfter));
    if (e.status >= 500 || e.status === 401 || e.status === 403) return this.t("error-unavailable");
    if (e.status) return e.detail || this.t("error-generic");
    return e.message || this.t("error-generic");
  }
}

/** An absolute http(s) URL, or "" (never a javascript: or data: link in our markup). */
function webUrl(value) {
  try {
    const url = new URL(value || "", document.baseURI);
    return value && /^https?:$/.test(url.protocol) ? url.href : "";
  } catch {
    return "";
  }
}

function waitText(seconds) {
  if (!seconds) return "a while";
  if (seconds < 90) return `${Math.ceil(seconds)} seconds`;
  if (seconds < 5400) return `${Math.ceil(seconds / 60)} minutes`;
  return `${Math.ceil(seconds / 3600)} hours`;
}

if (!customElements.get(TAG)) customElements.define(TAG, TrailRoomTryOn);
