// Building DOM nodes safely: every string becomes a text node or a property, never HTML.

import { locale, t } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function applyAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.setAttribute("class", value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
}

/** `h("div", {class: "x"}, "text", child)`: an element; strings are inserted as text. */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  applyAttrs(node, attrs);
  return append(node, children);
}

/** An SVG element (charts). */
export function s(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  applyAttrs(node, attrs);
  return append(node, children);
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

/** A link inside the page: `#/records/<id>` and the like, parts URI-encoded. */
export function route(...parts) {
  return "#/" + parts.map((p) => encodeURIComponent(String(p))).join("/");
}

/** A URL the service gave us, kept only when it stays on this origin (no javascript:, no
 * other host). Relative URLs are resolved against the page. */
export function sameOrigin(url) {
  if (typeof url !== "string" || !url) return null;
  try {
    const resolved = new URL(url, document.baseURI);
    return resolved.origin === window.location.origin ? resolved.href : null;
  } catch {
    return null;
  }
}

export function dash(value) {
  return value === null || value === undefined || value === "" ? t("common.none") : String(value);
}

export function formatNumber(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return t("common.none");
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(Number(value));
}

/** A date-time element: local time shown, the ISO string as its `datetime` and title. */
export function time(iso) {
  if (!iso) return document.createTextNode(t("common.none"));
  // The catalog's times are UTC; a time without an offset is read as UTC, not local time.
  const text = String(iso);
  const zoned = /(Z|[+-]\d\d:?\d\d)$/i.test(text) || !text.includes("T") ? text : `${text}Z`;
  const date = new Date(zoned);
  if (Number.isNaN(date.getTime())) return document.createTextNode(String(iso));
  const shown = new Intl.DateTimeFormat(locale(), {
    dateStyle: "medium",
    timeStyle: "short",
  }).format(date);
  return h("time", { datetime: iso, title: iso }, shown);
}

/** A definition list of [label, value] pairs; values may be nodes or strings. */
export function fields(pairs) {
  return h(
    "dl",
    { class: "fields" },
    pairs
      .filter((pair) => pair)
      .map(([label, value, cls]) => [
        h("dt", null, label),
        h("dd", { class: cls || null }, value === null || value === undefined ? dash(value) : value),
      ]),
  );
}

export function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", null, title), ...children);
}

export function errorBox(err) {
  const message = err && err.message ? err.message : String(err);
  const box = h(
    "div",
    { class: "alert alert-error", role: "alert" },
    h("strong", null, `${t("common.error")}${err && err.status ? ` ${err.status}` : ""}: `),
    message,
  );
  if (err && err.code) box.append(" ", h("code", { class: "muted" }, err.code));
  if (err && (err.status === 401 || err.status === 403)) {
    box.append(h("p", { class: "muted" }, t("token.needed")));
  }
  return box;
}

export function loading() {
  return h("p", { class: "loading", role: "status" }, t("common.loading"));
}
