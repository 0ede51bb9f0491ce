// Knowledge base: style keywords, top prompts, parameters per model, recent generations.

import { getJson } from "../api.js";
import { bars, columnChart, rangeStrip } from "../charts.js";
import { dash, errorBox, formatNumber, h, loading, route, section, time } from "../dom.js";
import { t } from "../i18n.js";
import { headOf } from "./search.js";

function searchLink(text) {
  return "#/search?" + new URLSearchParams({ q: text }).toString();
}

function styles(data) {
  if (!data.length || !data[0].total) return h("p", { class: "muted" }, t("kb.empty"));
  const total = data[0].total;
  return h(
    "div",
    null,
    h("p", { class: "muted small" }, t("kb.styles.hint"), " ", t("common.records", { n: formatNumber(total, 0) })),
    bars(
      data.map((c) => ({
        label: c.style,
        value: c.share,
        text: `${formatNumber(c.share * 100, 1)}% (${formatNumber(c.count, 0)})`,
      })),
      { max: 1 },
    ),
    h(
      "div",
      { class: "keyword-groups" },
      data
        .filter((c) => c.count > 0)
        .map((c) =>
          h(
            "div",
            { class: "keyword-group" },
            h("h3", null, c.style),
            h(
              "ul",
              { class: "tags" },
              Object.entries(c.keywords || {})
                .filter(([, n]) => n > 0)
                .sort((a, b) => b[1] - a[1])
                .map(([word, n]) =>
                  h(
                    "li",
                    null,
                    h("a", { class: "pill", href: searchLink(word), title: t("kb.search_this") }, word, " ", h("b", null, String(n))),
                  ),
                ),
            ),
          ),
        ),
    ),
  );
}

function prompts(data) {
  if (!data.length) return h("p", { class: "muted" }, t("kb.empty"));
  const max = Math.max(...data.map((p) => p.count));
  return h(
    "div",
    null,
    h("p", { class: "muted small" }, t("kb.prompts.hint")),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", { class: "num" }, t("kb.count")),
            h("th", null, t("kb.template")),
            h("th", { class: "num" }, t("kb.best")),
            h("th", { class: "num" }, t("kb.median_steps")),
            h("th", { class: "num" }, t("kb.median_cfg")),
            h("th", null, t("field.size")),
            h("th", null, t("field.model")),
          ),
        ),
        h(
          "tbody",
          null,
          data.map((p) => {
            const fill = h("span", { class: "bar-fill" });
            fill.style.setProperty("width", `${((100 * p.count) / max).toFixed(1)}%`);
            return h(
              "tr",
              null,
              h("td", { class: "num" }, h("span", { class: "mini-bar" }, fill), formatNumber(p.count, 0)),
              h(
                "td",
                { class: "prompt" },
                h("a", { href: searchLink(p.example || p.template), title: p.example || "" }, headOf(p.template || p.example, 90)),
              ),
              h("td", { class: "num" }, p.best_rating ? "★".repeat(p.best_rating) : t("common.none")),
              h("td", { class: "num" }, formatNumber(p.median_steps)),
              h("td", { class: "num" }, formatNumber(p.median_cfg_scale)),
              h("td", null, p.width && p.height ? `${p.width}×${p.height}` : t("common.none")),
              h("td", null, dash(p.model)),
            );
          }),
        ),
      ),
    ),
  );
}

function distributionRow(label, dist, unit = "", showCommon = true) {
  const max = dist && dist.max !== null ? dist.max : 0;
  const common = (dist && dist.common) || [];
  return h(
    "div",
    { class: "dist" },
    h("div", { class: "dist-label" }, label, h("span", { class: "muted small" }, ` n=${formatNumber(dist ? dist.count : 0, 0)}`)),
    dist && dist.count
      ? [
          h(
            "div",
            { class: "dist-figures small" },
            [
              [t("kb.min"), dist.min],
              [t("kb.median"), dist.median],
              [t("kb.p90"), dist.p90],
              [t("kb.max"), dist.max],
            ].map(([name, v]) => h("span", null, h("span", { class: "muted" }, name + " "), formatNumber(v) + unit)),
          ),
          rangeStrip(dist, max),
          showCommon && common.length
            ? h(
                "div",
                { class: "dist-common" },
                h("div", { class: "muted small" }, t("kb.common")),
                bars(
                  common.map((c) => ({ label: formatNumber(c.value) + unit, value: c.count, text: formatNumber(c.count, 0) })),
                  { tone: "bars-compact" },
                ),
              )
            : null,
        ]
      : h("div", { class: "muted small" }, t("common.none")),
  );
}

function params(data) {
  if (!data.length) return h("p", { class: "muted" }, t("kb.empty"));
  return h(
    "div",
    { class: "model-grid" },
    data.map((m) =>
      h(
        "article",
        { class: "model-card" },
        h(
          "h3",
          null,
          h("a", { href: "#/search?" + new URLSearchParams({ model: m.model }).toString() }, m.model),
          " ",
          h("span", { class: "muted small" }, t("common.records", { n: formatNumber(m.count, 0) })),
        ),
        distributionRow(t("field.steps"), m.steps),
        distributionRow(t("field.cfg"), m.cfg_scale),
        m.generation_time && m.generation_time.count
          ? distributionRow(t("kb.time"), m.generation_time, "s", false)
          : h("p", { class: "muted small" }, t("kb.no_time")),
        m.sizes && m.sizes.length
          ? h(
              "div",
              { class: "dist" },
              h("div", { class: "dist-label" }, t("kb.sizes")),
              bars(
                m.sizes.map((sz) => ({ label: `${sz.width}×${sz.height}`, value: sz.count, text: formatNumber(sz.count, 0) })),
                { tone: "bars-compact" },
              ),
            )
          : null,
      ),
    ),
  );
}

function historyView(data) {
  if (!data.length) return h("p", { class: "muted" }, t("kb.empty"));
  const oldestFirst = [...data].reverse();
  const timed = oldestFirst.some((i) => i.generation_time !== null && i.generation_time !== undefined);
  return h(
    "div",
    null,
    timed
      ? [
          h("p", { class: "muted small" }, t("kb.history.hint")),
          columnChart(
            oldestFirst.map((i) => ({
              value: i.generation_time,
              label: `${i.created_at} ${i.prompt_head || ""}`,
              href: route("records", i.record_id),
            })),
            { unit: "s", caption: t("kb.time") },
          ),
        ]
      : h("p", { class: "muted small" }, t("kb.no_time")),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", null, t("field.created")),
            h("th", null, t("field.prompt")),
            h("th", { class: "num" }, t("field.steps")),
            h("th", { class: "num" }, t("field.cfg")),
            h("th", { class: "num" }, t("kb.time")),
            h("th", null, t("field.model")),
          ),
        ),
        h(
          "tbody",
          null,
          data.map((i) =>
            h(
              "tr",
              null,
              h("td", { class: "nowrap" }, time(i.created_at)),
              h("td", { class: "prompt" }, h("a", { href: route("records", i.record_id) }, dash(i.prompt_head))),
              h("td", { class: "num" }, formatNumber(i.steps)),
              h("td", { class: "num" }, formatNumber(i.cfg_scale)),
              h("td", { class: "num" }, formatNumber(i.generation_time)),
              h("td", null, dash(i.model)),
            ),
          ),
        ),
      ),
    ),
  );
}

function panel(root, title, id, path, draw) {
  const body = h("div", null, loading());
  getJson(path)
    .then((data) => {
      if (root.dataset.view !== "kb") return;
      body.replaceChildren(draw(Array.isArray(data) ? data : (data && (data.items || data.results)) || []));
    })
    .catch((err) => body.replaceChildren(errorBox(err)));
  const card = section(title, body);
  card.id = id;
  return card;
}

export function renderKb(root) {
  const toc = h(
    "nav",
    { class: "toc small" },
    [
      ["kb-styles", "kb.styles"],
      ["kb-prompts", "kb.prompts"],
      ["kb-params", "kb.params"],
      ["kb-history", "kb.history"],
    ].map(([id, key]) =>
      h(
        "button",
        {
          type: "button",
          class: "button button-ghost button-small",
          onclick: () => document.getElementById(id)?.scrollIntoView({ behavior: "smooth" }),
        },
        t(key),
      ),
    ),
  );
  root.replaceChildren(
    h("h1", null, t("kb.title")),
    toc,
    h(
      "div",
      { class: "columns" },
      panel(root, t("kb.styles"), "kb-styles", "v1/kb/styles", styles),
      panel(root, t("kb.params"), "kb-params", "v1/kb/params", params),
    ),
    panel(root, t("kb.prompts"), "kb-prompts", "v1/kb/prompts", prompts),
    panel(root, t("kb.history"), "kb-history", "v1/history", historyView),
  );
}
