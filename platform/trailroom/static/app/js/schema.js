// Starts Swagger UI on /schema (kept out of the page's HTML: the CSP allows no inline script).
const container = document.getElementById("swagger-container");
window.ui = window.SwaggerUIBundle({
  url: container.dataset.specUrl,
  dom_id: "#swagger-container",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
  requestInterceptor: (request) => {
    // Calls made from the reference with the session cookie need the CSRF header too.
    const match = document.cookie.match(/(?:^|;\s*)tr_csrf=([^;]+)/);
    if (match && request.method && !["GET", "HEAD", "OPTIONS"].includes(request.method.toUpperCase())) {
      request.headers["X-CSRF-Token"] = decodeURIComponent(match[1]);
    }
    return request;
  },
});
