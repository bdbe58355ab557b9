// Calls to /api/v1 from the pages: same-origin cookies, the CSRF header the API requires on every
// state-changing request, and one renewal of an expired session before giving up.

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)tr_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `Request failed (${status})`);
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code || "http_" + status;
  }
}

// The pages' renewal (not /api/v1/auth/refresh): two tabs renewing at once must not end the session.
async function renew() {
  const response = await fetch("/api/v1/auth/web/renew", {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrfToken() },
  });
  return response.ok;
}

/** fetch() for our API: JSON in and out, problem+json errors raised as ApiError. */
export async function api(path, { method = "GET", json, body, headers = {}, retry = true } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (method !== "GET" && method !== "HEAD") init.headers["X-CSRF-Token"] = csrfToken();
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(path, init);
  if (response.status === 401 && retry) {
    const problem = await response.clone().json().catch(() => ({}));
    if (["token_expired", "invalid_token"].includes(problem.code) && (await renew())) {
      return api(path, { method, json, body, headers, retry: false });
    }
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({ detail: response.statusText }));
    throw new ApiError(response.status, problem);
  }
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response;
}
