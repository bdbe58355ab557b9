// Talking to TrailRoom: directly with a publishable key, or through the merchant's own backend proxy.
// Both answer the same job JSON ({id, status, error, links: {status, events?, results}}).

const TERMINAL = new Set(["completed", "failed", "canceled"]);
const POLL_MS = 1500;
const SHOPPER_KEY = "trailroom:shopper";

/** A failure the widget can explain: `code` is stable, `message` is for people, `status` is HTTP (0 = none). */
export class TryOnError extends Error {
  constructor(code, message, { status = 0, retryAfter = null, detail = "" } = {}) {
    super(message);
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
    this.detail = detail;
  }
}

function randomId(length) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b & 63]).join("");
}

const memory = {};

// Storage can be blocked (privacy settings, sandboxed frames): then ids live as long as the page.
function stored(slot, value) {
  try {
    if (value === undefined) return localStorage.getItem(slot) || memory[slot] || null;
    if (value === null) localStorage.removeItem(slot);
    else localStorage.setItem(slot, value);
  } catch {
    /* memory only */
  }
  memory[slot] = value;
  return value;
}

/** An anonymous id for this browser (16-64 of [A-Za-z0-9_-]), for a merchant's proxy to apply per-shopper limits. */
export function shopperId() {
  let id = stored(SHOPPER_KEY);
  if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) id = stored(SHOPPER_KEY, randomId(24));
  return id;
}

async function problemOf(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    /* not JSON: keep the status alone */
  }
  const retry = Number(response.headers.get("Retry-After") || body.retry_after);
  return {
    code: String(body.code || ""),
    detail: String(body.detail || body.title || ""),
    retryAfter: Number.isFinite(retry) && retry > 0 ? retry : null,
  };
}

export class TryOnClient {
  /**
   * @param {{endpoint?: string, publishableKey?: string, apiBase: string, csrfToken?: string}} config
   */
  constructor(config) {
    this.proxy = Boolean(config.endpoint);
    this.endpoint = config.endpoint;
    this.key = config.publishableKey;
    this.apiBase = config.apiBase.replace(/\/+$/, "");
    this.csrfToken = config.csrfToken;
  }

  headers(extra = {}) {
    const headers = { ...extra };
    if (this.proxy) {
      headers["X-Shopper-ID"] = shopperId();
      headers["X-Requested-With"] = "XMLHttpRequest";
      if (this.csrfToken) headers["X-CSRFToken"] = this.csrfToken;
    } else {
      headers.Authorization = `Bearer ${this.key}`;
      const shopper = stored(this.shopperSlot());
      if (shopper) headers["X-Shopper-ID"] = shopper;
      if (this.secret) headers["X-Client-Secret"] = this.secret;
    }
    return headers;
  }

  // Direct mode: the platform issues this browser's shopper id for the key (kept per key).
  shopperSlot() {
    return `${SHOPPER_KEY}:${this.key}`;
  }

  async newShopper(signal) {
    stored(this.shopperSlot(), null);
    const body = await this.request(`${this.apiBase}/api/v1/shoppers`, { method: "POST" }, signal);
    stored(this.shopperSlot(), body.shopper_id);
  }

  url(path) {
    return new URL(path, this.proxy ? document.baseURI : `${this.apiBase}/`).href;
  }

  async request(url, init, signal) {
    let response;
    try {
      response = await fetch(url, {
        ...init,
        signal,
        headers: this.headers(init.headers),
        credentials: this.proxy ? "same-origin" : "omit",
        cache: "no-store",
      });
    } catch (error) {
      if (signal && signal.aborted) throw signal.reason;
      throw await this.unreachable();
    }
    if (!response.ok) {
      const problem = await problemOf(response);
      throw new TryOnError(problem.code || `http_${response.status}`, problem.detail, {
        status: response.status,
        retryAfter: problem.retryAfter,
        detail: problem.detail,
      });
    }
    return response.json();
  }

  /** A failed fetch is either a lost connection or, in direct mode, a refused CORS check: tell them apart. */
  async unreachable() {
    if (!this.proxy && navigator.onLine !== false) {
      try {
        await fetch(`${this.apiBase}/healthz`, { mode: "no-cors", cache: "no-store", credentials: "omit" });
        return new TryOnError("origin_not_allowed", "");
      } catch {
        /* the platform is unreachable too: a network problem */
      }
    }
    return new TryOnError("network", "");
  }

  async garmentField(garmentUrl, signal) {
    // Same-origin (and data:) images are read here and uploaded: the platform may not be able to reach
    // them (a shop on localhost, a private host). Anything else is sent as a URL for the platform to fetch.
    const url = new URL(garmentUrl, document.baseURI);
    if (url.origin === location.origin || url.protocol === "data:" || url.protocol === "blob:") {
      try {
        const response = await fetch(url.href, { signal, credentials: "same-origin" });
        if (response.ok) return await response.blob();
      } catch {
        /* fall back to the URL */
      }
    }
    return url.href;
  }

  /** Start a try-on; returns the job. In direct mode, its client secret then reads the job. */
  async create({ photo, garmentUrl, mode, signal }) {
    const form = new FormData();
    form.append("mode", mode);
    form.append("person_image", photo, photo.name || "photo.jpg");
    const garment = await this.garmentField(garmentUrl, signal);
    if (typeof garment === "string") form.append("garment_image", garment);
    else form.append("garment_image", garment, "garment");
    if (this.proxy) return this.submit(this.url(this.endpoint), form, signal);
    this.secret = null;
    if (!stored(this.shopperSlot())) await this.newShopper(signal);
    let job;
    try {
      job = await this.submit(`${this.apiBase}/api/v1/tryon`, form, signal);
    } catch (error) {
      // An id from another key or a lost secret: ask for a new one, once.
      if (!(error instanceof TryOnError) || error.code !== "invalid_shopper_id") throw error;
      await this.newShopper(signal);
      job = await this.submit(`${this.apiBase}/api/v1/tryon`, form, signal);
    }
    this.secret = job.client_secret || null;
    return job;
  }

  submit(target, form, signal) {
    return this.request(target, { method: "POST", body: form, headers: { "Idempotency-Key": randomId(32) } }, signal);
  }

  statusUrl(job) {
    if (job.links && job.links.status) return this.url(job.links.status);
    return this.proxy ? this.url(`${this.endpoint.replace(/\/+$/, "")}/${job.id}`) : this.url(`/api/v1/tryon/${job.id}`);
  }

  resultUrls(job) {
    const results = (job.links && job.links.results) || [];
    return results.map((u) => this.url(u));
  }

  /** Follow the job until it ends: server-sent events in direct mode, polling otherwise or as fallback. */
  async follow(job, onUpdate, signal) {
    onUpdate(job);
    if (TERMINAL.has(job.status)) return job;
    // The platform offers server-sent events; a proxy may too (the Flask and Django ones only poll).
    const events = job.links && job.links.events;
    if (events) {
      try {
        const last = await this.stream(this.url(events), onUpdate, signal);
        if (last && TERMINAL.has(last.status)) return last;
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        /* the stream broke: poll instead */
      }
    }
    return this.poll(job, onUpdate, signal);
  }

  async poll(job, onUpdate, signal) {
    const url = this.statusUrl(job);
    let current = job;
    let failures = 0;
    while (!TERMINAL.has(current.status)) {
      await sleep(POLL_MS, signal);
      try {
        current = await this.request(url, { method: "GET" }, signal);
        failures = 0;
        onUpdate(current);
      } catch (error) {
        // A short network blip is retried a few times; anything the server said is final.
        if (signal.aborted || !(error instanceof TryOnError) || error.code !== "network" || ++failures > 3) throw error;
      }
    }
    return current;
  }

  /** Read `text/event-stream` with fetch (EventSource cannot send the Authorization header). */
  async stream(url, onUpdate, signal) {
    const response = await fetch(url, {
      headers: this.headers({ Accept: "text/event-stream" }),
      signal,
      credentials: this.proxy ? "same-origin" : "omit",
      cache: "no-store",
    });
    if (!response.ok || !response.body) throw new TryOnError("stream", "");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let last = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return last;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).replace(/^ /, ""))
          .join("\n");
        if (!data) continue; // a keep-alive comment
        last = JSON.parse(data);
        onUpdate(last);
        if (TERMINAL.has(last.status)) {
          reader.cancel().catch(() => {});
          return last;
        }
      }
    }
  }
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
