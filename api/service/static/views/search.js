// Search: text and filters (kept in the URL: #/search?q=...&model=...), a grid of thumbnails,
// "more" following next_cursor.

import { getJson, loadImage } from "../api.js";
import { errorBox, formatNumber, h, route, sameOrigin, time } from "../dom.js";
import { t } from "../i18n.js";

const PAGE = 24;

// [query parameter, label key, input type, extra attributes]
const FILTERS = [
  ["model", "search.model", "text", {}],
  ["seed", "search.seed", "number", { min: 0, step: 1 }],
  ["steps_min", "search.steps", "number", { min: 0, step: 1 }, "search.min"],
  ["steps_max", "search.steps", "number", { min: 0, step: 1 }, "search.max"],
  ["cfg_min", "search.cfg", "number", { min: 0, step: "any" }, "search.min"],
  ["cfg_max", "search.cfg", "number", { min: 0, step: "any" }, "search.max"],
  ["width", "search.width", "number", { min: 1, step: 1 }],
  ["height", "search.height", "number", { min: 1, step: 1 }],
  ["since", "search.since", "date", {}],
  ["until", "search.until", "date", {}],
  ["signer", "search.signer", "text", { spellcheck: "false", autocomplete: "off" }],
  ["rating_min", "search.rating", "select", {}],
  ["tag", "search.tag", "text", {}],
];

const FILTER_NAMES = FILTERS.map((f) => f[0]);

export function headOf(prompt, length = 80) {
  const text = String(prompt || "").replace(/\s+/g, " ").trim();
  const chars = Array.from(text);
  return chars.length > length ? chars.slice(0, length - 1).join("") + "…" : text;
}

function filterInput(name, type, attrs, value) {
  if (type === "select") {
    return h(
      "select",
      { id: `f-${name}`, name },
      h("option", { value: "" }, t("search.any")),
      [1, 2, 3, 4, 5].map((n) =>
        h("option", { value: String(n), selected: String(n) === value }, "★".repeat(n)),
      ),
    );
  }
  const input = h("input", { id: `f-${name}`, name, type, ...attrs });
  input.value = value || "";
  return input;
}

function form(params) {
  const q = h("input", {
    type: "search",
    name: "q",
    id: "search-q",
    placeholder: t("search.placeholder"),
    "aria-label": t("search.title"),
    autocomplete: "off",
  });
  q.value = params.get("q") || "";
  const sort = h(
    "select",
    { name: "sort", id: "search-sort", "aria-label": t("search.sort") },
    h("option", { value: "" }, t("search.sort.newest")),
    h("option", { value: "relevance", selected: params.get("sort") === "relevance" }, t("search.sort.relevance")),
  );
  const active = FILTER_NAMES.some((name) => params.get(name));
  const filters = h(
    "details",
    { class: "filters", open: active },
    h("summary", null, t("search.filters")),
    h(
      "div",
      { class: "filter-grid" },
      FILTERS.map(([name, label, type, attrs, suffix]) =>
        h(
          "label",
          { class: "filter", for: `f-${name}` },
          h("span", null, t(label), suffix ? h("span", { class: "muted" }, ` (${t(suffix)})`) : null),
          filterInput(name, type, attrs, params.get(name) || ""),
        ),
      ),
    ),
    h("button", { type: "reset", class: "button button-ghost button-small" }, t("search.reset")),
  );
  const el = h(
    "form",
    { class: "search-form", role: "search" },
    h(
      "div",
      { class: "search-row" },
      q,
      sort,
      h("button", { type: "submit", class: "button" }, t("search.submit")),
    ),
    filters,
  );
  el.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [name, value] of new FormData(el).entries()) {
      if (String(value).trim()) next.set(name, String(value).trim());
    }
    const hash = `#/search${next.toString() ? "?" + next.toString() : ""}`;
    if (window.location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
    else window.location.hash = hash;
  });
  el.addEventListener("reset", () => {
    // keep the text, clear the filters (the browser resets to the values the form was built with)
    setTimeout(() => {
      for (const name of FILTER_NAMES) {
        const input = el.elements.namedItem(name);
        if (input) input.value = "";
      }
    });
  });
  return el;
}

function card(row) {
  const img = h("img", {
    class: "thumb",
    alt: headOf(row.prompt, 40),
    loading: "lazy",
    decoding: "async",
    width: row.width || null,
    height: row.height || null,
  });
  loadImage(img, sameOrigin(row.thumbnail_url));
  const size = row.width && row.height ? `${row.width}×${row.height}` : null;
  return h(
    "li",
    { class: "result" },
    h(
      "a",
      { href: route("records", row.record_id), class: "result-link" },
      h("div", { class: "thumb-box" }, img),
      h("div", { class: "result-prompt prompt", title: row.prompt || "" }, headOf(row.prompt)),
      h(
        "div",
        { class: "result-meta muted small", title: row.model || "" },
        [size, row.seed !== null && row.seed !== undefined ? `${t("field.seed")} ${row.seed}` : null, row.model]
          .filter(Boolean)
          .join(" · "),
      ),
      h(
        "div",
        { class: "result-meta result-when muted small" },
        time(row.created_at),
        row.rating ? h("span", { class: "stars", title: `${row.rating}/5` }, "★".repeat(row.rating)) : null,
      ),
    ),
  );
}

export function renderSearch(root, params) {
  const grid = h("ul", { class: "grid", id: "results" });
  const status = h("p", { class: "muted small", role: "status" });
  const more = h("button", { type: "button", class: "button button-ghost", hidden: true }, t("common.more"));
  let shown = 0;

  const query = {};
  for (const name of ["q", "sort", ...FILTER_NAMES]) {
    const value = params.get(name);
    if (value) query[name] = value;
  }

  async function page(cursor) {
    more.hidden = true;
    status.textContent = t("common.loading");
    try {
      const data = await getJson("v1/records", { ...query, limit: PAGE, cursor });
      if (root.dataset.view !== "search") return;
      const rows = (data && data.results) || [];
      grid.append(...rows.map(card));
      shown += rows.length;
      if (!shown) status.textContent = t("search.none");
      else status.textContent = t("search.count", { n: formatNumber(shown, 0) });
      if (data.next_cursor) {
        more.hidden = false;
        more.onclick = () => page(data.next_cursor);
      } else if (shown && cursor) {
        status.textContent += " " + t("search.end");
      }
    } catch (err) {
      status.replaceChildren(errorBox(err));
    }
  }

  root.replaceChildren(
    h("h1", null, t("search.title")),
    form(params),
    status,
    grid,
    h("div", { class: "more-row" }, more),
  );
  page(undefined);
}
