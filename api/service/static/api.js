// Calls to the service. Every URL is relative to the page, so the app also works under a path
// prefix. A bearer token the user typed is kept in sessionStorage (this tab only) and sent with
// every request.

const TOKEN_KEY = "aigc-prov.token";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(value) {
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token cannot be kept
  }
}

function headers(extra = {}) {
  const out = { Accept: "application/json", ...extra };
  const value = token();
  if (value) out.Authorization = `Bearer ${value}`;
  return out;
}

export function url(path, params) {
  const target = new URL(path.replace(/^\//, ""), document.baseURI);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") target.searchParams.set(name, value);
  }
  return target.href;
}

async function errorOf(response) {
  let code = `http_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = await response.json();
    if (body && typeof body === "object") {
      if (typeof body.code === "string") code = body.code;
      if (typeof body.message === "string") message = body.message;
      else if (typeof body.detail === "string") message = body.detail;
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, code, message);
}

async function request(path, options = {}, params = undefined) {
  let response;
  try {
    response = await fetch(url(path, params), options);
  } catch (err) {
    throw new ApiError(0, "network", String(err && err.message ? err.message : err));
  }
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return null;
  return response.json();
}

export function getJson(path, params) {
  return request(path, { headers: headers() }, params);
}

export function postJson(path, body) {
  return request(path, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify(body),
  });
}

export function postFile(path, field, file) {
  const form = new FormData();
  form.append(field, file, file.name || "upload");
  return request(path, { method: "POST", headers: headers(), body: form });
}

/** Show an image the service serves. With a token the bytes are fetched with it (an <img> cannot
 * send a header) and shown from a blob URL; without one the URL is used directly. */
export async function loadImage(img, src) {
  if (!src) return;
  if (!token()) {
    img.src = src;
    return;
  }
  try {
    const response = await fetch(src, { headers: headers({ Accept: "image/*" }) });
    if (!response.ok) throw new Error(String(response.status));
    const blobUrl = URL.createObjectURL(await response.blob());
    img.addEventListener("load", () => URL.revokeObjectURL(blobUrl), { once: true });
    img.src = blobUrl;
  } catch {
    img.src = src;
  }
}
