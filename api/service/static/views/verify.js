// Verify: drop or choose an image, POST it to /v1/verify, show the report.

import { getJson, postFile } from "../api.js";
import {
  findingsList,
  lineageSection,
  recordFields,
  signerFields,
  statusBadge,
} from "../components.js";
import { dash, errorBox, fields, h, route, section, time } from "../dom.js";
import { t } from "../i18n.js";

// The last upload survives a language switch (the view is redrawn from it).
const state = { file: null, preview: null, report: null, error: null, busy: false, record: null };

function setPreview(file) {
  if (state.preview) URL.revokeObjectURL(state.preview);
  state.preview = file ? URL.createObjectURL(file) : null;
}

async function upload(file, redraw) {
  state.file = file;
  state.report = null;
  state.error = null;
  state.record = null;
  state.busy = true;
  setPreview(file);
  redraw();
  try {
    state.report = await postFile("v1/verify", "file", file);
    const id = state.report.record_id;
    if (state.report.record && typeof state.report.record === "object") {
      state.record = { record: state.report.record };
    } else if (id) {
      state.record = await getJson(`v1/records/${encodeURIComponent(id)}`).catch((err) => ({
        missing: err,
      }));
    }
  } catch (err) {
    state.error = err;
  } finally {
    state.busy = false;
  }
  redraw();
}

function dropZone(redraw, compact) {
  const input = h("input", {
    type: "file",
    id: "verify-file",
    class: "visually-hidden",
    accept: "image/png,image/jpeg,image/webp,.png,.jpg,.jpeg,.webp",
  });
  input.addEventListener("change", () => {
    if (input.files && input.files[0]) upload(input.files[0], redraw);
  });
  const zone = h(
    "label",
    { class: `dropzone${compact ? " dropzone-compact" : ""}`, for: "verify-file", id: "dropzone" },
    h("span", { class: "dropzone-icon", "aria-hidden": "true" }, "⬆"),
    h("strong", null, t("verify.drop")),
    h("span", { class: "muted" }, t("verify.or")),
    h("span", { class: "button" }, t("verify.choose")),
    h("span", { class: "muted small" }, t("verify.hint")),
    input,
  );
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    const file = event.dataTransfer && event.dataTransfer.files && event.dataTransfer.files[0];
    if (file) upload(file, redraw);
  });
  return zone;
}

function candidates(list) {
  if (!list || !list.length) return null;
  return section(
    t("verify.candidates"),
    h(
      "ul",
      { class: "plain" },
      list.map((c) =>
        h(
          "li",
          null,
          h("a", { href: route("records", c.record_id) }, h("code", null, c.record_id)),
          " ",
          h(
            "span",
            { class: "muted" },
            c.exact ? t("verify.exact") : t("verify.distance", { d: c.distance }),
          ),
        ),
      ),
    ),
  );
}

function recordSection(report) {
  const id = report.record_id;
  if (!id) return null;
  const found = state.record;
  let body;
  if (found && found.record) {
    body = [
      recordFields(found.record, found.summary || {}),
      h("p", null, h("a", { href: route("records", id), class: "button button-small" }, t("common.open"))),
    ];
  } else if (found && found.missing && found.missing.status === 404) {
    body = h("p", { class: "muted" }, t("verify.record_missing", { id }));
  } else if (found && found.missing) {
    body = errorBox(found.missing);
  } else {
    body = fields([[t("field.record_id"), h("code", null, id)]]);
  }
  return section(t("section.record"), h("p", { class: "muted small" }, h("code", null, id)), body);
}

function reportView(report) {
  const facts = fields([
    [t("verify.file"), dash(state.file ? state.file.name : report.file)],
    [t("verify.container"), dash(report.container)],
    [t("verify.schema"), dash(report.schema_version)],
    [t("verify.checked_at"), time(report.checked_at)],
    [t("verify.tool"), dash(report.tool_version)],
  ]);
  const preview = state.preview
    ? h("img", { class: "preview", src: state.preview, alt: state.file ? state.file.name : "" })
    : null;
  return h(
    "div",
    { class: "report", id: "report" },
    h("div", { class: "report-top card" }, preview, h("div", { class: "report-main" }, statusBadge(report.status), facts)),
    h(
      "div",
      { class: "columns" },
      h(
        "div",
        null,
        section(t("section.findings"), findingsList(report.findings)),
        section(t("section.signer"), signerFields(report.signer)),
      ),
      h(
        "div",
        null,
        recordSection(report),
        report.record_id ? lineageSection(report.record_id) : null,
        candidates(report.candidates),
      ),
    ),
  );
}

export function renderVerify(root) {
  // Redraw only while this view is still the one shown (an upload may end after navigation).
  const redraw = () => {
    if (root.dataset.view === "verify") renderVerify(root);
  };
  const compact = Boolean(state.busy || state.report || state.error);
  const parts = [h("h1", null, t("verify.title")), dropZone(redraw, compact)];
  if (state.busy) {
    parts.push(h("p", { class: "loading", role: "status" }, t("verify.checking", { name: state.file.name })));
  } else if (state.error) {
    parts.push(errorBox(state.error));
  } else if (state.report) {
    parts.push(reportView(state.report));
  }
  root.replaceChildren(...parts);
}
