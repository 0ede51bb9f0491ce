// Small charts drawn here: horizontal CSS bars and inline SVG. No library.

import { formatNumber, h, s } from "./dom.js";

/** Horizontal bars: items are {label (string or node), value, text?, title?}. */
export function bars(items, { max, tone = "" } = {}) {
  const top = max ?? Math.max(0, ...items.map((i) => Number(i.value) || 0));
  return h(
    "ul",
    { class: `bars ${tone}` },
    items.map((item) => {
      const share = top > 0 ? Math.max(0, Math.min(1, (Number(item.value) || 0) / top)) : 0;
      const fill = h("span", { class: "bar-fill" });
      fill.style.setProperty("width", `${(share * 100).toFixed(2)}%`);
      return h(
        "li",
        { class: "bar", title: item.title || null },
        h("span", { class: "bar-label" }, item.label),
        h("span", { class: "bar-track" }, fill),
        h("span", { class: "bar-value" }, item.text ?? formatNumber(item.value)),
      );
    }),
  );
}

/** A range strip for a distribution: min..max line, p90 band, median mark, on a shared scale. */
export function rangeStrip(dist, scaleMax) {
  const width = 240;
  const height = 26;
  const pad = 6;
  if (!dist || !dist.count || dist.min === null || dist.max === null) return null;
  const top = scaleMax > 0 ? scaleMax : dist.max || 1;
  const x = (v) => pad + ((width - 2 * pad) * Math.max(0, Number(v) || 0)) / top;
  const mid = height / 2;
  return s(
    "svg",
    {
      class: "range",
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: "img",
      "aria-label": `${formatNumber(dist.min)} – ${formatNumber(dist.max)}`,
    },
    s("line", { x1: pad, x2: width - pad, y1: mid, y2: mid, class: "range-axis" }),
    s("line", { x1: x(dist.min), x2: x(dist.max), y1: mid, y2: mid, class: "range-span" }),
    dist.median !== null && dist.p90 !== null
      ? s("rect", {
          x: x(dist.median),
          y: mid - 5,
          width: Math.max(2, x(dist.p90) - x(dist.median)),
          height: 10,
          class: "range-band",
          rx: 2,
        })
      : null,
    dist.median !== null
      ? s("line", { x1: x(dist.median), x2: x(dist.median), y1: mid - 8, y2: mid + 8, class: "range-median" })
      : null,
    s("circle", { cx: x(dist.min), cy: mid, r: 3, class: "range-end" }),
    s("circle", { cx: x(dist.max), cy: mid, r: 3, class: "range-end" }),
  );
}

/** Vertical bars over time (history): points are {value, label, href?}, oldest first. */
export function columnChart(points, { unit = "", caption = "" } = {}) {
  const width = 1000;
  const height = 180;
  const left = 44;
  const bottom = 18;
  const top = 8;
  const values = points.map((p) => Number(p.value) || 0);
  const max = Math.max(0, ...values) || 1;
  const slot = (width - left - 4) / Math.max(1, points.length);
  const barWidth = Math.max(1, Math.min(36, slot * 0.7));
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const ticks = [0, max / 2, max];
  return s(
    "svg",
    {
      class: "columns-chart",
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": caption,
    },
    ticks.map((v) => [
      s("line", { x1: left, x2: width, y1: y(v), y2: y(v), class: "grid-line" }),
      s("text", { x: left - 6, y: y(v) + 4, class: "axis-label", "text-anchor": "end" }, formatNumber(v, 2)),
    ]),
    points.map((p, i) => {
      const v = Number(p.value) || 0;
      const bar = s(
        "rect",
        {
          x: left + i * slot + (slot - barWidth) / 2,
          y: y(v),
          width: barWidth,
          height: Math.max(0, height - bottom - y(v)),
          class: p.value === null || p.value === undefined ? "column column-missing" : "column",
        },
        s("title", null, `${p.label}: ${p.value === null || p.value === undefined ? "—" : formatNumber(v) + unit}`),
      );
      return p.href ? s("a", { href: p.href }, bar) : bar;
    }),
  );
}
