// API playground: pick an operation (from the app's OpenAPI document, rendered into data-catalog),
// fill its parameters and body, send it with a secret key, and read the same call as code.
// The snippets are built from exactly what is sent, so they run as shown.
import { api } from "../api.js";

const root = document.getElementById("playground");
const KEY_STORE = "trailroom.playground.key";

if (root) {
  const catalog = JSON.parse(root.dataset.catalog);
  const byId = new Map(catalog.map((op) => [op.id, op]));
  const $ = (selector) => root.querySelector(selector);
  const keyInput = $("[data-key]");
  const operationSelect = $("[data-operation]");
  const paramsBox = $("[data-params]");
  const bodyBox = $("[data-body]");
  let language = "curl";
  const files = new Map(); // multipart field → File

  keyInput.value = sessionStorage.getItem(KEY_STORE) || "";
  keyInput.addEventListener("input", () => {
    sessionStorage.setItem(KEY_STORE, keyInput.value.trim());
    renderSnippet();
  });

  // -- a key made for the playground (the session cookie authorizes it, CSRF header included) ---------
  $("[data-create-key]").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    button.classList.add("is-loading");
    $("[data-key-error]").hidden = true;
    try {
      const data = await api("/api/v1/api-keys/generate", {
        method: "POST",
        json: { name: root.dataset.keyName, kind: "secret", allowed_origins: [] },
      });
      keyInput.value = data.key;
      keyInput.type = "text";
      sessionStorage.setItem(KEY_STORE, data.key);
      $("[data-key-created]").hidden = false;
      renderSnippet();
    } catch (error) {
      $("[data-key-error]").textContent = error.message;
      $("[data-key-error]").hidden = false;
    } finally {
      button.classList.remove("is-loading");
    }
  });

  // -- the operation's form ---------------------------------------------------------------------------------
  const current = () => byId.get(operationSelect.value);

  function inputFor(param) {
    const id = `pg-p-${param.in}-${param.name}`;
    const field = document.createElement("div");
    field.className = "field";
    const label = document.createElement("label");
    label.htmlFor = id;
    label.innerHTML = "";
    const code = document.createElement("code");
    code.textContent = param.name;
    label.append(code, ` ${param.in}${param.required ? " · required" : ""}`);
    let input;
    if (param.enum) {
      input = document.createElement("select");
      input.className = "select";
      if (!param.required) input.add(new Option("—", ""));
      for (const value of param.enum) input.add(new Option(String(value), String(value)));
    } else {
      input = document.createElement("input");
      input.className = "input";
      input.type = param.type === "integer" || param.type === "number" ? "number" : "text";
      if (param.format === "date-time") input.placeholder = "2026-11-01T00:00:00Z";
    }
    input.id = id;
    input.dataset.param = param.name;
    input.dataset.in = param.in;
    if (param.default !== null && param.default !== undefined) input.value = String(param.default);
    if (param.required) input.required = true;
    field.append(label, input);
    if (param.description) {
      const hint = document.createElement("div");
      hint.className = "hint";
      hint.textContent = param.description;
      field.append(hint);
    }
    return field;
  }

  function multipartField(spec) {
    const id = `pg-f-${spec.name}`;
    const field = document.createElement("div");
    field.className = "field";
    const label = document.createElement("label");
    label.htmlFor = id;
    const code = document.createElement("code");
    code.textContent = spec.name;
    label.append(code, spec.kind === "file" ? ` file${spec.required ? " · required" : ""}` : "");
    let input;
    if (spec.kind === "select") {
      input = document.createElement("select");
      input.className = "select";
      for (const value of spec.options) input.add(new Option(value, value));
      input.value = spec.default;
    } else if (spec.kind === "file") {
      input = document.createElement("input");
      input.type = "file";
      input.accept = "image/png,image/jpeg,image/webp";
      input.className = "input";
      input.addEventListener("change", () => {
        if (input.files[0]) files.set(spec.name, input.files[0]);
        else files.delete(spec.name);
        renderSnippet();
      });
    } else {
      input = document.createElement("input");
      input.className = "input";
      input.value = spec.default || "";
    }
    input.id = id;
    input.dataset.formField = spec.name;
    input.dataset.kind = spec.kind;
    field.append(label, input);
    if (spec.help) {
      const hint = document.createElement("div");
      hint.className = "hint";
      hint.textContent = spec.help;
      field.append(hint);
    }
    return field;
  }

  function renderOperation() {
    const op = current();
    files.clear();
    $("[data-summary]").textContent = op.summary;
    const method = $("[data-method]");
    method.textContent = op.method;
    method.className = `method method-${op.method}`;
    paramsBox.replaceChildren(...op.params.map(inputFor));
    bodyBox.replaceChildren();
    if (op.body && op.body.kind === "json") {
      const label = document.createElement("label");
      label.className = "label";
      label.htmlFor = "pg-body";
      label.textContent = "JSON body";
      const area = document.createElement("textarea");
      area.className = "textarea body-editor";
      area.id = "pg-body";
      area.spellcheck = false;
      area.dataset.jsonBody = "";
      area.value = JSON.stringify(op.body.example ?? {}, null, 2);
      bodyBox.append(label, area);
    } else if (op.body && op.body.kind === "multipart") {
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = "Form (multipart/form-data)";
      bodyBox.append(label, ...op.body.fields.map(multipartField));
    }
    history.replaceState(null, "", `#${encodeURIComponent(op.id)}`);
    renderSnippet();
  }

  // -- what will be sent ------------------------------------------------------------------------------------
  function request() {
    const op = current();
    let path = op.path;
    const query = new URLSearchParams();
    const headers = {};
    for (const input of paramsBox.querySelectorAll("[data-param]")) {
      const value = input.value.trim();
      if (!value) continue;
      if (input.dataset.in === "path") path = path.replace(`{${input.dataset.param}}`, encodeURIComponent(value));
      else if (input.dataset.in === "query") query.set(input.dataset.param, value);
      else if (input.dataset.in === "header") headers[input.dataset.param] = value;
    }
    const url = `${window.location.origin}${path}${query.size ? `?${query}` : ""}`;
    const key = keyInput.value.trim();
    headers.Authorization = `Bearer ${key || "tr_sk_your_secret_key"}`;
    let json;
    let form;
    const area = bodyBox.querySelector("[data-json-body]");
    if (area) {
      try {
        json = JSON.parse(area.value || "null");
      } catch {
        return { error: "The JSON body is not valid JSON." };
      }
    } else if (op.body && op.body.kind === "multipart") {
      form = [];
      for (const input of bodyBox.querySelectorAll("[data-form-field]")) {
        const name = input.dataset.formField;
        if (input.dataset.kind === "file") {
          if (files.has(name)) form.push({ name, file: files.get(name) });
        } else if (input.value.trim()) {
          form.push({ name, value: input.value.trim() });
        }
      }
    }
    const missing = [...paramsBox.querySelectorAll("[data-param][required]")].filter((i) => !i.value.trim());
    return { op, url, headers, json, form, key, missing: missing.map((i) => i.dataset.param) };
  }

  // -- snippets -------------------------------------------------------------------------------------------------
  const shell = (text) => `'${String(text).replace(/'/g, `'\\''`)}'`;
  const pyString = (text) => JSON.stringify(String(text));

  function pyLiteral(value, indent = "") {
    if (value === null || value === undefined) return "None";
    if (value === true) return "True";
    if (value === false) return "False";
    if (typeof value === "number") return String(value);
    if (typeof value === "string") return pyString(value);
    const inner = `${indent}    `;
    if (Array.isArray(value)) {
      if (!value.length) return "[]";
      return `[\n${value.map((v) => `${inner}${pyLiteral(v, inner)},`).join("\n")}\n${indent}]`;
    }
    const entries = Object.entries(value);
    if (!entries.length) return "{}";
    return `{\n${entries.map(([k, v]) => `${inner}${pyString(k)}: ${pyLiteral(v, inner)},`).join("\n")}\n${indent}}`;
  }

  function curl(r) {
    const lines = [`curl -sS -X ${r.op.method} ${shell(r.url)}`];
    for (const [name, value] of Object.entries(r.headers)) lines.push(`  -H ${shell(`${name}: ${value}`)}`);
    if (r.json !== undefined) {
      lines.push(`  -H ${shell("Content-Type: application/json")}`);
      lines.push(`  --data ${shell(JSON.stringify(r.json))}`);
    }
    for (const part of r.form || []) {
      lines.push(`  -F ${shell(part.file ? `${part.name}=@${part.file.name}` : `${part.name}=${part.value}`)}`);
    }
    return lines.join(" \\\n");
  }

  function python(r) {
    const args = [`    ${pyString(r.op.method)},`, `    ${pyString(r.url)},`, `    headers=${pyLiteral(r.headers, "    ")},`];
    if (r.json !== undefined) args.push(`    json=${pyLiteral(r.json, "    ")},`);
    const fileParts = (r.form || []).filter((p) => p.file);
    const dataParts = (r.form || []).filter((p) => !p.file);
    if (fileParts.length) {
      args.push(`    files={\n${fileParts.map((p) => `        ${pyString(p.name)}: open(${pyString(p.file.name)}, "rb"),`).join("\n")}\n    },`);
    }
    if (dataParts.length) {
      args.push(`    data={\n${dataParts.map((p) => `        ${pyString(p.name)}: ${pyString(p.value)},`).join("\n")}\n    },`);
    }
    args.push("    timeout=60,");
    return ["import httpx", "", "response = httpx.request(", ...args, ")", "print(response.status_code)", "print(response.text)"].join("\n");
  }

  function javascript(r) {
    const lines = [];
    const headers = { ...r.headers };
    let body = "";
    if (r.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = `  body: JSON.stringify(${JSON.stringify(r.json, null, 2).replace(/\n/g, "\n  ")}),\n`;
    } else if (r.form) {
      if (r.form.some((p) => p.file)) lines.push('import { openAsBlob } from "node:fs";', "");
      lines.push("const form = new FormData();");
      for (const part of r.form) {
        lines.push(
          part.file
            ? `form.append(${JSON.stringify(part.name)}, await openAsBlob(${JSON.stringify(part.file.name)}), ${JSON.stringify(part.file.name)});`
            : `form.append(${JSON.stringify(part.name)}, ${JSON.stringify(part.value)});`,
        );
      }
      lines.push("");
      body = "  body: form,\n";
    }
    const headerText = JSON.stringify(headers, null, 2).replace(/\n/g, "\n  ");
    lines.push(
      `const response = await fetch(${JSON.stringify(r.url)}, {`,
      `  method: ${JSON.stringify(r.op.method)},`,
      `  headers: ${headerText},`,
      `${body}});`,
      "console.log(response.status);",
      "console.log(await response.text());",
    );
    return lines.join("\n");
  }

  const NOTES = {
    curl: "Runs in any shell with curl; file paths are relative to where you run it.",
    python: "Needs httpx (pip install httpx); Python 3.9+.",
    javascript: "Node 20+ as an ES module (save as call.mjs), or a browser console for calls without files.",
  };

  function renderSnippet() {
    const r = request();
    $("[data-url]").textContent = r.url || "";
    if (r.error) {
      $("[data-snippet]").textContent = r.error;
      return;
    }
    const text = { curl, python, javascript }[language](r);
    const snippet = $("[data-snippet]");
    snippet.textContent = text;
    snippet.dataset.lang = language;
    $("[data-snippet-note]").textContent = r.key ? NOTES[language] : `Paste or create a key above to get a runnable snippet. ${NOTES[language]}`;
  }

  for (const tab of root.querySelectorAll("[data-snippet-tabs] [data-lang]")) {
    tab.addEventListener("click", () => {
      language = tab.dataset.lang;
      for (const other of root.querySelectorAll("[data-snippet-tabs] [data-lang]")) {
        other.setAttribute("aria-selected", String(other === tab));
      }
      renderSnippet();
    });
  }
  // -- sending ------------------------------------------------------------------------------------------------
  const note = $("[data-send-note]");
  $("[data-send]").addEventListener("click", async (event) => {
    const r = request();
    if (r.error) return (note.textContent = r.error);
    if (!r.key) return (note.textContent = "Paste a secret key, or create a playground key, first.");
    if (r.missing.length) return (note.textContent = `Fill in ${r.missing.join(", ")}.`);
    note.textContent = "";
    const button = event.currentTarget;
    button.classList.add("is-loading");
    const init = { method: r.op.method, headers: { ...r.headers }, credentials: "omit" };
    if (r.json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(r.json);
    } else if (r.form) {
      const form = new FormData();
      for (const part of r.form) form.append(part.name, part.file || part.value);
      init.body = form;
    }
    const started = performance.now();
    try {
      const response = await fetch(r.url, init);
      const blob = await response.blob();
      showResponse(response, blob, Math.round(performance.now() - started));
    } catch (error) {
      note.textContent = `The request failed: ${error.message}`;
    } finally {
      button.classList.remove("is-loading");
    }
  });

  function badge(text, tone) {
    const span = document.createElement("span");
    span.className = `badge badge-${tone}`;
    span.textContent = text;
    return span;
  }

  async function showResponse(response, blob, ms) {
    const tone = response.ok ? "success" : response.status >= 500 ? "danger" : "warning";
    const meta = $("[data-response-meta]");
    meta.replaceChildren(
      badge(`${response.status} ${response.statusText}`, tone),
      badge(`${ms} ms`, "info"),
      badge(`${blob.size.toLocaleString()} B`, "primary"),
    );
    meta.firstChild.dataset.responseStatus = String(response.status);
    $("[data-response-tabs]").hidden = false;
    const rows = [...response.headers.entries()].map(([name, value]) => {
      const row = document.createElement("tr");
      const head = document.createElement("td");
      head.textContent = name;
      const cell = document.createElement("td");
      cell.textContent = value;
      row.append(head, cell);
      return row;
    });
    $("[data-response-headers]").replaceChildren(...rows);
    const images = $("[data-response-images]");
    images.replaceChildren();
    const type = blob.type || response.headers.get("content-type") || "";
    let text = "";
    if (type.startsWith("image/")) {
      images.append(image(URL.createObjectURL(blob), "Response image"));
      text = `(${type} image, ${blob.size} bytes)`;
    } else {
      text = await blob.text();
      if (type.includes("json")) {
        try {
          const data = JSON.parse(text);
          text = JSON.stringify(data, null, 2);
          for (const src of imagesIn(data)) images.append(image(src, "Image from the response"));
        } catch {
          // Not JSON after all: show the text as it came.
        }
      }
    }
    images.hidden = images.childElementCount === 0;
    $("[data-response-body]").textContent = text || "(empty body)";
    selectPanel("body");
  }

  function image(src, alt) {
    const img = document.createElement("img");
    img.src = src;
    img.alt = alt;
    return img;
  }

  /** Result URLs (links.results) and base64 images ({media_type, data}) anywhere in the answer. */
  function imagesIn(value, found = []) {
    if (Array.isArray(value)) value.forEach((v) => imagesIn(v, found));
    else if (value && typeof value === "object") {
      if (typeof value.media_type === "string" && typeof value.data === "string" && value.media_type.startsWith("image/")) {
        found.push(`data:${value.media_type};base64,${value.data}`);
      }
      if (value.links && Array.isArray(value.links.results)) found.push(...value.links.results);
      for (const [name, v] of Object.entries(value)) if (name !== "links") imagesIn(v, found);
    }
    return found.slice(0, 12);
  }

  function selectPanel(name) {
    for (const tab of root.querySelectorAll("[data-response-tabs] [data-tab]")) {
      tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
    }
    for (const panel of root.querySelectorAll("[data-panel]")) panel.hidden = panel.dataset.panel !== name;
  }
  for (const tab of root.querySelectorAll("[data-response-tabs] [data-tab]")) {
    tab.addEventListener("click", () => selectPanel(tab.dataset.tab));
  }

  const fromHash = decodeURIComponent(window.location.hash.slice(1));
  if (byId.has(fromHash)) operationSelect.value = fromHash;
  operationSelect.addEventListener("change", renderOperation);
  root.addEventListener("input", (event) => {
    if (event.target !== keyInput) renderSnippet();
  });
  root.addEventListener("change", (event) => {
    if (event.target !== operationSelect && event.target.type !== "file") renderSnippet();
  });
  renderOperation();
}
