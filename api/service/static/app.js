// The page: header (navigation, language, token), hash routing between the four views.
//   #/                verify an image
//   #/search?q=...    search the catalog
//   #/records/<id>    one record
//   #/kb              knowledge base

import { setToken, token } from "./api.js";
import { h, s } from "./dom.js";
import { lang, locale, setLang, t } from "./i18n.js";
import { renderKb } from "./views/kb.js";
import { renderRecord } from "./views/record.js";
import { renderSearch } from "./views/search.js";
import { renderVerify } from "./views/verify.js";

const main = document.getElementById("main");

function parseRoute() {
  const raw = window.location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?", 2);
  const parts = path.split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const params = new URLSearchParams(query);
  if (parts[0] === "search") return { view: "search", params };
  if (parts[0] === "records" && parts[1]) return { view: "record", id: parts[1], params };
  if (parts[0] === "kb") return { view: "kb", params };
  return { view: "verify", params };
}

function tokenPanel() {
  const input = h("input", {
    type: "password",
    id: "token-input",
    autocomplete: "off",
    spellcheck: "false",
  });
  input.value = token();
  const note = h("span", { class: "muted small", role: "status" });
  const form = h(
    "form",
    { class: "token-form" },
    h("label", { for: "token-input" }, t("token.label")),
    h(
      "div",
      { class: "token-row" },
      input,
      h("button", { type: "submit", class: "button button-small" }, t("token.save")),
      h(
        "button",
        {
          type: "button",
          class: "button button-ghost button-small",
          onclick: () => {
            setToken("");
            input.value = "";
            note.textContent = t("token.cleared");
            drawHeader();
          },
        },
        t("token.clear"),
      ),
    ),
    note,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    note.textContent = input.value.trim() ? t("token.saved") : t("token.cleared");
    drawHeader();
  });
  return form;
}

let tokenOpen = false;

function keyIcon() {
  return s(
    "svg",
    { class: "icon", viewBox: "0 0 24 24", width: 16, height: 16, "aria-hidden": "true" },
    s("circle", { cx: 8, cy: 15, r: 4 }),
    s("path", { d: "M11 12l8-8M16 7l3 3M14 9l2 2" }),
  );
}

function drawHeader() {
  const current = parseRoute().view;
  const link = (view, href, key) =>
    h(
      "a",
      {
        href,
        class: `nav-link${current === view ? " active" : ""}`,
        "aria-current": current === view ? "page" : null,
      },
      t(key),
    );
  const other = lang() === "en" ? "zh" : "en";
  const header = document.getElementById("header");
  header.replaceChildren(
    h(
      "div",
      { class: "header-inner" },
      h(
        "a",
        { href: "#/", class: "brand" },
        h("span", { class: "brand-mark", "aria-hidden": "true" }, "◈"),
        h("span", null, t("app.title")),
      ),
      h(
        "nav",
        { class: "nav", "aria-label": "main" },
        link("verify", "#/", "nav.verify"),
        link("search", "#/search", "nav.search"),
        link("kb", "#/kb", "nav.kb"),
      ),
      h(
        "div",
        { class: "header-tools" },
        h(
          "button",
          {
            type: "button",
            class: `button button-ghost button-small${token() ? " has-token" : ""}`,
            id: "token-toggle",
            "aria-expanded": tokenOpen ? "true" : "false",
            onclick: () => {
              tokenOpen = !tokenOpen;
              drawHeader();
              if (tokenOpen) document.getElementById("token-input")?.focus();
            },
          },
          keyIcon(),
          token() ? t("token.set") : t("token.button"),
        ),
        h(
          "button",
          {
            type: "button",
            class: "button button-ghost button-small",
            id: "lang-toggle",
            lang: other === "zh" ? "zh-CN" : "en",
            title: t("lang.switch"),
            onclick: () => {
              setLang(other);
              applyLanguage();
              render();
            },
          },
          t("lang.other"),
        ),
      ),
    ),
  );
  if (tokenOpen) header.append(h("div", { class: "header-inner token-panel" }, tokenPanel()));
}

function drawFooter() {
  document.getElementById("footer").replaceChildren(
    h(
      "div",
      { class: "footer-inner small muted" },
      h("span", null, t("footer.offline")),
      h("a", { href: "openapi.json" }, t("footer.api")),
    ),
  );
}

function applyLanguage() {
  document.documentElement.lang = locale();
  document.title = `${t("app.title")} · ${t("app.tagline")}`;
}

function render() {
  const route = parseRoute();
  drawHeader();
  drawFooter();
  main.dataset.view = route.view;
  if (route.view === "search") renderSearch(main, route.params);
  else if (route.view === "record") renderRecord(main, route.id);
  else if (route.view === "kb") renderKb(main);
  else renderVerify(main);
}

document.addEventListener("aigc:need-token", () => {
  tokenOpen = true;
  drawHeader();
  document.getElementById("token-input")?.focus();
});

// A file dropped outside the drop zone must not make the browser navigate away to it.
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => event.preventDefault());

window.addEventListener("hashchange", () => {
  render();
  window.scrollTo(0, 0);
});

applyLanguage();
render();
