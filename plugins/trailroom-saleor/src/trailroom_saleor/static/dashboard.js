// The app's page inside Saleor's dashboard. The dashboard gives it a user token through its
// postMessage handshake; every call to this app's API carries that token and the shop's API URL,
// and the app checks both before writing product metadata with its own app token.
(() => {
  "use strict";

  const params = new URLSearchParams(window.location.search);
  const saleorApiUrl = params.get("saleorApiUrl") || "";
  let token = null;

  document.documentElement.dataset.theme = params.get("theme") === "dark" ? "dark" : "light";

  const form = document.getElementById("garment-form");
  const productInput = document.getElementById("product-id");
  const imageInput = document.getElementById("garment-image");
  const modeSelect = document.getElementById("mode");
  const connection = document.getElementById("connection");
  const result = document.getElementById("result");
  const buttons = form.querySelectorAll("button");

  if (params.get("productId")) productInput.value = params.get("productId");

  function show(element, text, state) {
    element.textContent = text;
    element.dataset.state = state;
  }

  async function call(method, body) {
    const productId = productInput.value.trim();
    if (!token) throw new Error("Open this page from the Saleor dashboard.");
    if (!productId) throw new Error("Enter the product ID.");
    const response = await fetch(`api/products/${encodeURIComponent(productId)}/tryon`, {
      method,
      headers: {
        "Content-Type": "application/json",
        "authorization-bearer": token,
        "saleor-api-url": saleorApiUrl,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || `The request failed (${response.status}).`);
    return data;
  }

  function fill(data) {
    imageInput.value = data.garment_image || "";
    modeSelect.value = data.mode || modeSelect.dataset.default;
  }

  async function run(action) {
    buttons.forEach((button) => { button.disabled = true; });
    try {
      await action();
    } catch (error) {
      show(result, error.message, "error");
    } finally {
      buttons.forEach((button) => { button.disabled = false; });
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run(async () => {
      fill(await call("PUT", { garment_image: imageInput.value.trim(), mode: modeSelect.value }));
      show(result, "Saved: the product page now offers the try-on.", "ok");
    });
  });

  document.getElementById("remove").addEventListener("click", () => {
    run(async () => {
      fill(await call("DELETE"));
      show(result, "Removed: the product page no longer offers the try-on.", "ok");
    });
  });

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    const message = event.data || {};
    if ((message.type === "handshake" || message.type === "tokenRefresh") && message.payload && message.payload.token) {
      token = message.payload.token;
      show(connection, "Connected to your Saleor dashboard.", "ready");
      if (message.type === "handshake" && productInput.value.trim()) {
        run(async () => fill(await call("GET")));
      }
    }
    if (message.type === "theme" && message.payload) {
      document.documentElement.dataset.theme = message.payload.theme === "dark" ? "dark" : "light";
    }
  });

  if (!saleorApiUrl || window.parent === window) {
    show(connection, "Open this page from the Saleor dashboard (Apps → TrailRoom).", "error");
  }
})();
