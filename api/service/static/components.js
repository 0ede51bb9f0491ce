// Pieces shared by the views: status badge, signer, record fields, lineage, findings.

import { getJson } from "./api.js";
import { dash, errorBox, fields, formatNumber, h, loading, route, section, time } from "./dom.js";
import { t, tOr } from "./i18n.js";

const PASSING = new Set(["verified", "verified_reencoded"]);
// Not proof either way: no claim was broken, but none was proven.
const CAUTION = new Set([
  "untrusted_signer",
  "catalog_match",
  "soft_match",
  "unsigned",
  "foreign_metadata",
  "no_provenance",
]);

export function statusTone(status) {
  if (PASSING.has(status)) return "ok";
  if (CAUTION.has(status)) return "warn";
  return "bad";
}

/** The badge: a coloured panel with the status code, its name and its sentence. */
export function statusBadge(status) {
  const tone = statusTone(status);
  const icon = tone === "ok" ? "✓" : tone === "warn" ? "!" : "✕";
  return h(
    "div",
    { class: `verdict verdict-${tone}`, dataset: { status }, role: "status" },
    h("span", { class: "verdict-icon", "aria-hidden": "true" }, icon),
    h(
      "div",
      { class: "verdict-text" },
      h(
        "div",
        { class: "verdict-head" },
        h("span", { class: "verdict-title" }, tOr(`status.${status}`, status)),
        h("code", { class: "status-code", "data-testid": "status" }, status),
      ),
      h("p", { class: "verdict-sentence" }, tOr(`describe.${status}`, "")),
    ),
  );
}

export function keyStatus(status) {
  const tone = status === "active" || status === "retired" ? "ok" : status === "revoked" ? "bad" : "warn";
  return h("span", { class: `pill pill-${tone}` }, tOr(`keystatus.${status}`, status));
}

export function signerFields(signer) {
  if (!signer) return h("p", { class: "muted" }, t("signer.none"));
  return fields([
    [t("signer.key_id"), h("code", { class: "wrap" }, dash(signer.key_id))],
    [t("signer.status"), keyStatus(signer.status)],
    [
      t("signer.trusted"),
      h(
        "span",
        { class: `pill pill-${signer.trusted ? "ok" : "warn"}` },
        signer.trusted ? t("common.yes") : t("common.no"),
      ),
    ],
    signer.label ? [t("signer.label"), signer.label] : null,
    signer.revoked_at ? [t("signer.revoked_at"), time(signer.revoked_at)] : null,
  ]);
}

function taskName(task) {
  return task ? tOr(`task.${task}`, task) : null;
}

/** The fields people read, from a full record (``record``) or a catalog summary row. */
export function recordFields(record, summary = {}) {
  const gen = (record && record.generation) || {};
  const model = (record && record.model) || {};
  const task = (record && record.task) || {};
  const width = gen.width ?? summary.width;
  const height = gen.height ?? summary.height;
  const prompt = gen.prompt ?? summary.prompt;
  const negative = gen.negative_prompt;
  const parent = task.parent_record_id;
  return fields([
    [t("field.prompt"), h("span", { class: "prompt", lang: "" }, dash(prompt))],
    negative ? [t("field.negative_prompt"), h("span", { class: "prompt" }, negative)] : null,
    [t("field.model"), dash(model.name ?? summary.model)],
    [t("field.seed"), dash(gen.seed ?? summary.seed)],
    [t("field.steps"), dash(gen.num_inference_steps ?? summary.steps)],
    [t("field.cfg"), formatNumber(gen.cfg_scale ?? summary.cfg_scale)],
    gen.sampler ? [t("field.sampler"), gen.sampler] : null,
    [t("field.size"), width && height ? `${width} × ${height}` : dash(null)],
    [t("field.created"), time((record && record.created_at) || summary.created_at)],
    [t("field.task"), dash(taskName(task.type ?? summary.task))],
    parent
      ? [t("field.parent"), h("a", { href: route("records", parent) }, h("code", null, parent))]
      : null,
  ]);
}

/** Lineage loaded from the service into a section; `currentId` is the record shown. */
export function lineageSection(recordId) {
  const body = h("div", { class: "lineage" }, loading());
  const card = section(t("section.lineage"), body);
  getJson(`v1/records/${encodeURIComponent(recordId)}/lineage`)
    .then((data) => {
      body.replaceChildren(lineageView(data, recordId));
    })
    .catch((err) => body.replaceChildren(errorBox(err)));
  return card;
}

export function lineageView(data, currentId) {
  const steps = (data && Array.isArray(data.steps) && data.steps) || [];
  const out = [];
  if (steps.length <= 1 && (!steps[0] || !steps[0].parent_record_id) && data.ok !== false) {
    out.push(h("p", { class: "muted" }, t("lineage.none")));
  }
  if (steps.length > 1 || (steps[0] && steps[0].parent_record_id) || data.ok === false) {
    out.push(
      h(
        "ol",
        { class: "chain" },
        steps.map((step) => {
          const id = step.record_id;
          const current = id === currentId;
          const head = step.found
            ? h(
                "a",
                { href: route("records", id), class: "chain-id" },
                h("code", null, id),
              )
            : h("code", { class: "chain-id" }, id);
          return h(
            "li",
            { class: `chain-step${step.note ? " chain-broken" : ""}${step.found ? "" : " chain-missing"}` },
            h(
              "div",
              { class: "chain-head" },
              h("span", { class: "pill" }, dash(taskName(step.task))),
              head,
              current ? h("span", { class: "muted" }, ` (${t("lineage.current")})`) : null,
              step.found ? null : h("span", { class: "pill pill-warn" }, t("lineage.missing")),
            ),
            step.prompt ? h("div", { class: "chain-prompt prompt" }, step.prompt) : null,
            step.created_at ? h("div", { class: "muted small" }, time(step.created_at)) : null,
            step.note ? h("div", { class: "chain-note" }, step.note) : null,
          );
        }),
      ),
      h(
        "p",
        { class: `small ${data.ok === false ? "text-bad" : "text-ok"}` },
        data.ok === false ? t("lineage.broken") : t("lineage.ok"),
      ),
    );
  }
  return h("div", null, out);
}

export function findingsList(findings) {
  return h(
    "ul",
    { class: "findings" },
    (findings || []).map((f) =>
      h(
        "li",
        { class: `finding finding-${f.kind}`, dataset: { code: f.code } },
        h(
          "span",
          { class: "finding-kind", title: tOr(`kind.${f.kind}`, f.kind) },
          h("span", { class: "finding-dot" }, f.kind === "success" ? "✓" : f.kind === "failure" ? "✕" : "i"),
        ),
        h("code", { class: "finding-code" }, f.code),
        h("span", { class: "finding-message" }, f.message),
      ),
    ),
  );
}
