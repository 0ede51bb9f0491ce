// Record page: the image, its fields, signer, tags, lineage and rating.

import { getJson, loadImage, postJson, token, url } from "../api.js";
import { lineageSection, recordFields, signerFields } from "../components.js";
import { errorBox, h, loading, section } from "../dom.js";
import { t, tOr } from "../i18n.js";

function ratingWidget(id, current) {
  let rating = current || 0;
  const note = h("p", { class: "muted small", role: "status" });
  const stars = h("div", { class: "rating", role: "group", "aria-label": t("section.rating") });
  const draw = () => {
    stars.replaceChildren(
      ...[1, 2, 3, 4, 5].map((n) => {
        const button = h(
          "button",
          {
            type: "button",
            class: `star${n <= rating ? " star-on" : ""}`,
            title: `${n}/5`,
            "aria-label": `${t("record.rate")} ${n}/5`,
            "aria-pressed": n === rating ? "true" : "false",
          },
          n <= rating ? "★" : "☆",
        );
        button.addEventListener("click", () => rate(n));
        return button;
      }),
    );
  };
  async function rate(n) {
    if (!token()) {
      note.replaceChildren(h("span", { class: "text-bad" }, t("token.needed")));
      document.dispatchEvent(new CustomEvent("aigc:need-token"));
      return;
    }
    note.textContent = t("common.loading");
    try {
      const result = await postJson(`v1/records/${encodeURIComponent(id)}/rating`, { rating: n });
      rating = result && typeof result.rating === "number" ? result.rating : n;
      draw();
      note.textContent = t("record.rated", { n: rating });
    } catch (err) {
      note.replaceChildren(errorBox(err));
    }
  }
  draw();
  note.textContent = rating ? t("record.rated", { n: rating }) : t("record.unrated");
  return h("div", null, stars, note);
}

function signerBlock(signer, summary) {
  if (!signer) return h("code", null, summary.signer_key_id || "");
  const valid = signer.signature === "valid";
  return h(
    "div",
    null,
    signer.signature
      ? h(
          "p",
          null,
          h("span", { class: `pill pill-${valid ? "ok" : "bad"}` }, valid ? t("record.sig_valid") : t("record.sig_invalid")),
          signer.origin ? [" ", h("span", { class: "pill" }, tOr(`origin.${signer.origin}`, signer.origin))] : null,
        )
      : null,
    signer.problem ? h("p", { class: "text-bad" }, signer.problem) : null,
    signerFields(signer),
  );
}

function view(id, data) {
  const summary = data.summary || {};
  const record = data.record || null;
  const imageUrl = url(`v1/records/${encodeURIComponent(id)}/image`);
  const img = h("img", { class: "record-image", alt: summary.prompt || record?.generation?.prompt || "" });
  loadImage(img, imageUrl);
  const tags = Array.isArray(data.tags) ? data.tags : [];
  const raw = record
    ? h(
        "details",
        { class: "card raw" },
        h("summary", null, t("section.raw")),
        h("pre", null, JSON.stringify(record, null, 2)),
      )
    : null;
  return [
    h("h1", null, t("record.title"), " ", h("code", { class: "record-id" }, id)),
    h(
      "div",
      { class: "columns" },
      h(
        "div",
        null,
        h(
          "figure",
          { class: "card figure" },
          img,
          h(
            "figcaption",
            { class: "small" },
            h("a", { href: imageUrl, target: "_blank", rel: "noopener" }, t("record.download")),
            " · ",
            h("span", { class: "muted" }, t("record.verify_hint")),
          ),
        ),
        section(t("section.rating"), ratingWidget(id, summary.rating)),
        section(
          t("section.tags"),
          tags.length
            ? h("ul", { class: "tags" }, tags.map((tag) => h("li", { class: "pill" }, tag)))
            : h("p", { class: "muted" }, t("record.no_tags")),
        ),
      ),
      h(
        "div",
        null,
        section(t("section.record"), recordFields(record, summary)),
        section(t("section.signer"), signerBlock(data.signer, summary)),
        lineageSection(id),
        raw,
      ),
    ),
  ];
}

export async function renderRecord(root, id) {
  root.replaceChildren(h("h1", null, t("record.title")), loading());
  try {
    const data = await getJson(`v1/records/${encodeURIComponent(id)}`);
    if (root.dataset.view !== "record") return;
    root.replaceChildren(...view(id, data));
  } catch (err) {
    if (root.dataset.view !== "record") return;
    root.replaceChildren(h("h1", null, t("record.title")), errorBox(err));
  }
}
