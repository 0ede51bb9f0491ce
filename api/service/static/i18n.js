// UI strings in English and Chinese. Data (prompts, findings' sentences) is shown as the
// service returns it; only the page's own words are translated here.

const STORE_KEY = "aigc-prov.lang";

const STRINGS = {
  en: {
    "app.title": "aigc-provenance",
    "app.tagline": "Is this image ours, unaltered, and how was it made?",
    "nav.verify": "Verify",
    "nav.search": "Search",
    "nav.kb": "Knowledge base",
    "lang.other": "中文",
    "lang.switch": "Switch to Chinese",
    "token.button": "Token",
    "token.set": "Token set",
    "token.label": "Bearer token (kept in this tab only)",
    "token.save": "Save",
    "token.clear": "Forget",
    "token.saved": "Token saved for this tab.",
    "token.cleared": "Token forgotten.",
    "token.needed": "This needs a token: set one with the Token button above.",
    "footer.api": "API (OpenAPI)",
    "footer.offline": "Verification runs on this server; nothing is sent elsewhere.",
    "common.loading": "Loading…",
    "common.none": "—",
    "common.yes": "yes",
    "common.no": "no",
    "common.error": "Error",
    "common.open": "Open record",
    "common.more": "More",
    "common.records": "{n} records",

    "verify.title": "Verify an image",
    "verify.drop": "Drop an image here",
    "verify.or": "or",
    "verify.choose": "Choose a file",
    "verify.hint": "PNG, JPEG or WebP. The file is checked on this server and not stored.",
    "verify.checking": "Checking {name}…",
    "verify.file": "File",
    "verify.container": "Container",
    "verify.checked_at": "Checked at",
    "verify.schema": "Schema version",
    "verify.tool": "Verifier version",
    "verify.record_missing": "The record {id} is not in this catalog; its fields cannot be shown.",
    "verify.candidates": "Catalogued records that match",
    "verify.exact": "exact pixels",
    "verify.distance": "perceptual distance {d}",

    "section.signer": "Signer",
    "section.record": "Record",
    "section.lineage": "Lineage",
    "section.findings": "Findings",
    "section.tags": "Tags",
    "section.rating": "Rating",
    "section.raw": "Signed record (JSON)",

    "signer.key_id": "Key id",
    "signer.status": "Key status",
    "signer.trusted": "Trusted",
    "signer.label": "Label",
    "signer.revoked_at": "Revoked at",
    "signer.none": "No signer: the file carries no valid signature.",

    "field.prompt": "Prompt",
    "field.negative_prompt": "Negative prompt",
    "field.model": "Model",
    "field.seed": "Seed",
    "field.steps": "Steps",
    "field.cfg": "CFG scale",
    "field.size": "Size",
    "field.created": "Created",
    "field.task": "Task",
    "field.record_id": "Record id",
    "field.sampler": "Sampler",
    "field.parent": "Parent record",

    "lineage.none": "No lineage: this record has no parent.",
    "lineage.broken": "The chain could not be followed to its end.",
    "lineage.ok": "Every link checked: each parent's pixels are its child's recorded input.",
    "lineage.missing": "not in this catalog",
    "lineage.current": "this record",

    "kind.success": "passed",
    "kind.info": "note",
    "kind.failure": "failed",

    "search.title": "Search the catalog",
    "search.placeholder": "Words or Chinese text in the prompt, e.g. 橘猫",
    "search.submit": "Search",
    "search.filters": "Filters",
    "search.sort": "Order",
    "search.sort.newest": "Newest first",
    "search.sort.relevance": "Best match first",
    "search.reset": "Clear filters",
    "search.model": "Model",
    "search.seed": "Seed",
    "search.steps": "Steps",
    "search.cfg": "CFG scale",
    "search.width": "Width",
    "search.height": "Height",
    "search.since": "From",
    "search.until": "To",
    "search.signer": "Signer key id",
    "search.rating": "Rating at least",
    "search.tag": "Tag",
    "search.min": "min",
    "search.max": "max",
    "search.any": "any",
    "search.none": "No matching records.",
    "search.count": "{n} shown",
    "search.end": "That is all.",

    "record.title": "Record",
    "record.rate": "Rate",
    "record.rated": "Rated {n}/5.",
    "record.unrated": "not rated",
    "record.download": "Full image",
    "record.verify_hint": "To check a copy of this image, drop it on the Verify page.",
    "record.no_tags": "no tags",
    "record.sig_valid": "stored signature valid",
    "record.sig_invalid": "stored signature invalid",
    "origin.local": "our key",
    "origin.trusted": "trusted signer",

    "kb.title": "Knowledge base",
    "kb.styles": "Style keywords",
    "kb.styles.hint": "Share of prompts that use each style, and how often each keyword appears.",
    "kb.prompts": "Top prompts",
    "kb.prompts.hint": "Prompts grouped into templates, most used first, with their typical settings.",
    "kb.params": "Parameters per model",
    "kb.history": "Recent generations",
    "kb.history.hint": "Generation time of the latest records, oldest on the left.",
    "kb.empty": "Nothing in the catalog yet.",
    "kb.count": "Count",
    "kb.template": "Template",
    "kb.best": "Best rating",
    "kb.median_steps": "Median steps",
    "kb.median_cfg": "Median CFG",
    "kb.min": "min",
    "kb.median": "median",
    "kb.p90": "p90",
    "kb.max": "max",
    "kb.common": "Most common",
    "kb.sizes": "Sizes",
    "kb.time": "Generation time (s)",
    "kb.no_time": "No generation times recorded (attested and imported images have none).",
    "kb.search_this": "Search for this",

    "status.verified": "Verified",
    "status.verified_reencoded": "Verified (re-encoded)",
    "status.untrusted_signer": "Untrusted signer",
    "status.revoked_key": "Revoked key",
    "status.signature_invalid": "Signature invalid",
    "status.content_altered": "Content altered",
    "status.metadata_mismatch": "Metadata mismatch",
    "status.malformed": "Malformed",
    "status.unsigned": "Unsigned",
    "status.foreign_metadata": "Other tool's metadata",
    "status.no_provenance": "No provenance",
    "status.catalog_match": "Catalog match",
    "status.soft_match": "Similar records",

    "describe.verified": "signed by a trusted key; file and record unchanged",
    "describe.verified_reencoded": "signed by a trusted key; pixels identical, container changed",
    "describe.untrusted_signer": "signature valid, but the signer is not trusted by the policy",
    "describe.revoked_key": "signed by a key that has been revoked",
    "describe.signature_invalid": "the signature does not match the record",
    "describe.content_altered": "the pixels differ from the signed record",
    "describe.metadata_mismatch": "readable metadata or XMP disagrees with the signed record",
    "describe.malformed": "the file or its record is structurally invalid",
    "describe.unsigned": "our provenance metadata is present but not signed",
    "describe.foreign_metadata": "only another tool's metadata is present",
    "describe.no_provenance": "no provenance metadata found",
    "describe.catalog_match": "no embedded provenance, but the exact file or pixels are a catalogued record",
    "describe.soft_match": "no embedded provenance; similar-looking catalogued records (not proof)",

    "keystatus.active": "active",
    "keystatus.retired": "retired (its signatures stay valid)",
    "keystatus.revoked": "revoked",
    "keystatus.unknown": "unknown",

    "task.text-to-image": "text to image",
    "task.image-to-image": "image to image",
    "task.inpaint": "inpainting",
    "task.attest": "attested",
    "task.import": "imported",
    "task.export": "export",
  },
  zh: {
    "app.title": "aigc-provenance",
    "app.tagline": "这张图是我们生成的吗？是否被改动？是怎样生成的？",
    "nav.verify": "验证",
    "nav.search": "搜索",
    "nav.kb": "知识库",
    "lang.other": "English",
    "lang.switch": "切换为英文",
    "token.button": "令牌",
    "token.set": "已设置令牌",
    "token.label": "Bearer 令牌（仅保存在当前标签页）",
    "token.save": "保存",
    "token.clear": "清除",
    "token.saved": "令牌已保存到当前标签页。",
    "token.cleared": "令牌已清除。",
    "token.needed": "此操作需要令牌：请点击上方的“令牌”按钮设置。",
    "footer.api": "API（OpenAPI）",
    "footer.offline": "验证在本服务器上完成，文件不会发送到其他地方。",
    "common.loading": "加载中…",
    "common.none": "—",
    "common.yes": "是",
    "common.no": "否",
    "common.error": "错误",
    "common.open": "打开记录",
    "common.more": "加载更多",
    "common.records": "{n} 条记录",

    "verify.title": "验证图片",
    "verify.drop": "将图片拖放到此处",
    "verify.or": "或",
    "verify.choose": "选择文件",
    "verify.hint": "支持 PNG、JPEG 和 WebP。文件在本服务器上检查，不会被保存。",
    "verify.checking": "正在检查 {name}…",
    "verify.file": "文件",
    "verify.container": "容器格式",
    "verify.checked_at": "检查时间",
    "verify.schema": "记录版本",
    "verify.tool": "验证程序版本",
    "verify.record_missing": "记录 {id} 不在本目录中，无法显示其字段。",
    "verify.candidates": "目录中匹配的记录",
    "verify.exact": "像素完全相同",
    "verify.distance": "感知哈希距离 {d}",

    "section.signer": "签名者",
    "section.record": "记录",
    "section.lineage": "来源链",
    "section.findings": "检查结果",
    "section.tags": "标签",
    "section.rating": "评分",
    "section.raw": "已签名记录（JSON）",

    "signer.key_id": "密钥 ID",
    "signer.status": "密钥状态",
    "signer.trusted": "受信任",
    "signer.label": "名称",
    "signer.revoked_at": "吊销时间",
    "signer.none": "无签名者：文件没有有效签名。",

    "field.prompt": "提示词",
    "field.negative_prompt": "反向提示词",
    "field.model": "模型",
    "field.seed": "种子",
    "field.steps": "步数",
    "field.cfg": "CFG 引导系数",
    "field.size": "尺寸",
    "field.created": "创建时间",
    "field.task": "任务",
    "field.record_id": "记录 ID",
    "field.sampler": "采样器",
    "field.parent": "父记录",

    "lineage.none": "无来源链：此记录没有父记录。",
    "lineage.broken": "来源链无法追溯到底。",
    "lineage.ok": "每一环都已核对：父图的像素与子图记录的输入一致。",
    "lineage.missing": "不在本目录中",
    "lineage.current": "本记录",

    "kind.success": "通过",
    "kind.info": "说明",
    "kind.failure": "失败",

    "search.title": "搜索目录",
    "search.placeholder": "提示词中的词语或中文，例如 橘猫",
    "search.submit": "搜索",
    "search.filters": "筛选条件",
    "search.sort": "排序",
    "search.sort.newest": "最新优先",
    "search.sort.relevance": "最相关优先",
    "search.reset": "清除筛选",
    "search.model": "模型",
    "search.seed": "种子",
    "search.steps": "步数",
    "search.cfg": "CFG 引导系数",
    "search.width": "宽度",
    "search.height": "高度",
    "search.since": "起始日期",
    "search.until": "截止日期",
    "search.signer": "签名密钥 ID",
    "search.rating": "最低评分",
    "search.tag": "标签",
    "search.min": "最小",
    "search.max": "最大",
    "search.any": "不限",
    "search.none": "没有匹配的记录。",
    "search.count": "已显示 {n} 条",
    "search.end": "已全部显示。",

    "record.title": "记录",
    "record.rate": "评分",
    "record.rated": "已评为 {n}/5。",
    "record.unrated": "未评分",
    "record.download": "原图",
    "record.verify_hint": "要检查这张图的副本，请把它拖到“验证”页面。",
    "record.no_tags": "无标签",
    "record.sig_valid": "存储的签名有效",
    "record.sig_invalid": "存储的签名无效",
    "origin.local": "本机密钥",
    "origin.trusted": "受信任的签名者",

    "kb.title": "知识库",
    "kb.styles": "风格关键词",
    "kb.styles.hint": "使用各风格的提示词占比，以及每个关键词出现的次数。",
    "kb.prompts": "常用提示词",
    "kb.prompts.hint": "按模板归类的提示词，按使用次数排序，附常用参数。",
    "kb.params": "各模型的参数",
    "kb.history": "最近生成",
    "kb.history.hint": "最近记录的生成耗时，最早的在左侧。",
    "kb.empty": "目录中还没有内容。",
    "kb.count": "次数",
    "kb.template": "模板",
    "kb.best": "最高评分",
    "kb.median_steps": "步数中位数",
    "kb.median_cfg": "CFG 中位数",
    "kb.min": "最小",
    "kb.median": "中位数",
    "kb.p90": "p90",
    "kb.max": "最大",
    "kb.common": "最常用",
    "kb.sizes": "尺寸",
    "kb.time": "生成耗时（秒）",
    "kb.no_time": "没有记录生成耗时（签署和导入的图片没有此项）。",
    "kb.search_this": "搜索此项",

    "status.verified": "已验证",
    "status.verified_reencoded": "已验证（已重新编码）",
    "status.untrusted_signer": "签名者不受信任",
    "status.revoked_key": "密钥已吊销",
    "status.signature_invalid": "签名无效",
    "status.content_altered": "内容已被改动",
    "status.metadata_mismatch": "元数据不一致",
    "status.malformed": "格式错误",
    "status.unsigned": "未签名",
    "status.foreign_metadata": "仅有其他工具的元数据",
    "status.no_provenance": "无来源信息",
    "status.catalog_match": "与目录记录一致",
    "status.soft_match": "相似记录",

    "describe.verified": "由受信任的密钥签名；文件和记录均未改动",
    "describe.verified_reencoded": "由受信任的密钥签名；像素相同，但文件已重新编码",
    "describe.untrusted_signer": "签名有效，但签名者不在信任策略之内",
    "describe.revoked_key": "签名所用的密钥已被吊销",
    "describe.signature_invalid": "签名与记录不符",
    "describe.content_altered": "像素与已签名的记录不同",
    "describe.metadata_mismatch": "可读元数据或 XMP 与已签名的记录不一致",
    "describe.malformed": "文件或其记录结构无效",
    "describe.unsigned": "存在本工具的来源信息，但没有签名",
    "describe.foreign_metadata": "只有其他工具写入的元数据",
    "describe.no_provenance": "未找到来源信息",
    "describe.catalog_match": "文件中没有来源信息，但其文件或像素与目录中的某条记录完全相同",
    "describe.soft_match": "文件中没有来源信息；目录中有外观相似的记录（不能作为证明）",

    "keystatus.active": "使用中",
    "keystatus.retired": "已停用（其签名仍然有效）",
    "keystatus.revoked": "已吊销",
    "keystatus.unknown": "未知",

    "task.text-to-image": "文生图",
    "task.image-to-image": "图生图",
    "task.inpaint": "局部重绘",
    "task.attest": "签署",
    "task.import": "导入",
    "task.export": "导出",
  },
};

export const LANGUAGES = ["en", "zh"];

function initial() {
  try {
    const stored = localStorage.getItem(STORE_KEY);
    if (LANGUAGES.includes(stored)) return stored;
  } catch {
    // storage may be disabled: fall back to the browser's language
  }
  const wanted = navigator.languages && navigator.languages.length
    ? navigator.languages
    : [navigator.language || "en"];
  for (const tag of wanted) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

let current = initial();

export function lang() {
  return current;
}

/** The BCP 47 tag for the `lang` attribute and Intl formatting. */
export function locale() {
  return current === "zh" ? "zh-CN" : "en";
}

export function setLang(value) {
  if (!LANGUAGES.includes(value)) return;
  current = value;
  try {
    localStorage.setItem(STORE_KEY, value);
  } catch {
    // not remembered; fine
  }
}

/** The string `key` in the current language, `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const table = STRINGS[current];
  let text = key in table ? table[key] : (STRINGS.en[key] ?? key);
  for (const [name, value] of Object.entries(vars)) {
    text = text.split(`{${name}}`).join(String(value));
  }
  return text;
}

/** `t(key)` when it exists, else `fallback` (for codes the page does not know yet). */
export function tOr(key, fallback) {
  return key in STRINGS[current] || key in STRINGS.en ? t(key) : fallback;
}
