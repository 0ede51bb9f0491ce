"""Deterministic synthetic catalog rows for the catalog benchmark (issue 3).

``rows(start, count, seed, span)`` returns rows ``start .. start+count-1`` of a deterministic
sequence of catalog rows, ready for :meth:`Catalog.add_records`. Each row comes from a complete
v1 record of the real shape (the keys and nesting ``build_record`` makes; ``self_check`` validates
it against the v1 schema):

* prompts in Chinese (40 %), English (30 %) or mixed (30 %: a Chinese body with English style and
  quality tags), composed from weighted vocabularies (subjects, actions, details, styles,
  camera/lighting, quality tags; Zipf-like weights, so a few phrases are very common and most
  are rare), 10-80 tokens long (a token being an English word or a CJK character), phrases
  separated by ``，`` or ``, ``;
* models with their own parameters: Z-Image-Turbo (8-10 steps, guidance 0), Z-Image,
  FLUX.1-dev, SDXL, Qwen-Image, SD 1.5; sizes from the usual presets; 32-bit seeds (3 % 53-bit);
  text-to-image, image-to-image (with a parent) and inpaint tasks; 8 % rated;
* ``created_at`` growing with the row number (with up to 10 minutes of jitter) so that ``span``
  rows cover a year, as in a catalog that records images as they are made.

What is not real: records are not signed and there is no image. Digests and perceptual hashes
are random hex of the right length; ``record_bytes`` is the record as compact JSON with sorted
keys (the RFC 8785 form, except that an integral float prints as ``0.0`` where RFC 8785 writes
``0``); ``envelope`` is a DSSE envelope of the real shape and size (the base64 payload of those
bytes) with a random 64-byte signature. For speed the row is filled directly rather than through
``record_values`` (and the record's JSON from a template); ``self_check`` proves that the row
equals ``record_values`` of the parsed record (``search_text`` and perceptual-hash bands
included) and that the bytes are the record's canonical JSON.

Row ``i`` depends only on ``(seed, span, i)``: any batch can be made on its own, in any order.
"""

from __future__ import annotations

import base64
import json
import json.encoder
import random
import re
from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from typing import Any

from provenance.catalog.models import PHASH_BANDS
from provenance.catalog.store import record_values
from provenance.catalog.textsearch import search_text

__all__ = ["DEFAULT_SEED", "MODELS", "ROW_SPAN", "records", "rows", "self_check"]

DIGITAL_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

DEFAULT_SEED = 20261121
START = datetime(2025, 12, 1, tzinfo=UTC)
YEAR_S = 365 * 24 * 3600
ROW_SPAN = 1_000_000  # default ``span``: created_at spreads a year over this many rows
SIGNERS = [f"{i:016x}{(i * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF:016x}" for i in range(1, 5)]
SIGNER_WEIGHTS = [70, 20, 8, 2]
PAYLOAD_TYPE = "application/vnd.aigc-provenance.record+json; version=1"
PUBLIC_KEYS = [base64.b64encode(random.Random(i).randbytes(32)).decode() for i in range(4)]


def _w(*items: tuple[str, float]) -> tuple[list[str], list[float]]:
    """A weighted vocabulary: (words, cumulative weights) for ``random.choices``."""
    words = [w for w, _ in items]
    cum: list[float] = []
    total = 0.0
    for _, weight in items:
        total += weight
        cum.append(total)
    return words, cum


def _zipf(words: list[str], s: float = 1.0) -> tuple[list[str], list[float]]:
    """Weights 1/rank^s: a few very common entries and a long tail, as in real prompt logs."""
    return _w(*((w, 1.0 / (rank + 1) ** s) for rank, w in enumerate(words)))


SUBJECT_ZH = _zipf(
    [
        "一只橘猫",
        "少女",
        "山水",
        "城市夜景",
        "古风美人",
        "汉服女孩",
        "机甲战士",
        "雪山",
        "樱花树",
        "小狗",
        "宇航员",
        "赛博朋克街道",
        "海边灯塔",
        "竹林",
        "中国龙",
        "大熊猫",
        "红狐狸",
        "武士",
        "咖啡馆",
        "花海",
        "森林小屋",
        "古镇",
        "金鱼",
        "仙鹤",
        "骑士",
        "沙漠",
        "瀑布",
        "图书馆",
        "火车站",
        "老人",
        "小男孩",
        "白色的猫",
        "黑猫",
        "锦鲤",
        "向日葵",
        "城堡",
        "神社",
        "桥",
        "湖泊",
        "梯田",
        "长城",
        "故宫",
        "水母",
        "鲸鱼",
        "蝴蝶",
        "狮子",
        "老虎",
        "鹿",
    ]
)
SUBJECT_EN = _zipf(
    [
        "a cat",
        "a girl",
        "mountains",
        "a city at night",
        "an astronaut",
        "a samurai",
        "a dragon",
        "a red fox",
        "a lighthouse",
        "a young woman",
        "a bamboo forest",
        "an old man",
        "a cozy cafe",
        "a knight in armor",
        "a koi pond",
        "a giant panda",
        "a robot",
        "a castle on a hill",
        "a waterfall",
        "a street market",
        "a tabby cat",
        "a little boy",
        "a wolf",
        "a hummingbird",
        "a jellyfish",
        "a steam locomotive",
        "a treehouse",
        "a sailboat",
        "a snow leopard",
        "an owl",
    ]
)
ACTION_ZH = _zipf(
    [
        "坐在窗台上",
        "在雨中漫步",
        "看向远方",
        "站在山顶",
        "在樱花下",
        "奔跑",
        "微笑",
        "躺在草地上",
        "弹吉他",
        "读书",
        "喝咖啡",
        "回眸",
        "撑着油纸伞",
        "在海边",
        "在雪地里",
        "飞翔",
        "跳舞",
        "睡觉",
        "凝视镜头",
        "骑自行车",
        "放风筝",
        "钓鱼",
    ]
)
ACTION_EN = _zipf(
    [
        "sitting on a windowsill",
        "walking in the rain",
        "looking into the distance",
        "standing on a cliff",
        "under cherry blossoms",
        "running through a field",
        "smiling",
        "lying in the grass",
        "playing guitar",
        "reading a book",
        "drinking coffee",
        "flying over the clouds",
        "dancing",
        "sleeping",
        "looking at the viewer",
        "riding a bicycle",
    ]
)
DETAIL_ZH = _zipf(
    [
        "细腻的毛发",
        "柔和的光线",
        "逆光",
        "黄金时刻",
        "薄雾",
        "霓虹灯",
        "倒影",
        "雨滴",
        "烟雾",
        "飘落的花瓣",
        "丰富的细节",
        "景深",
        "体积光",
        "晨光",
        "夕阳",
        "蓝色调",
        "暖色调",
        "复杂背景",
        "简洁背景",
        "特写",
        "全身像",
        "广角镜头",
        "俯视视角",
        "低角度",
        "浅景深",
        "光影交错",
        "云海",
        "星空",
        "月光",
        "雪花",
        "落叶",
        "灯笼",
        "红色长裙",
        "白色连衣裙",
        "长发",
        "短发",
        "大眼睛",
        "精致五官",
        "古建筑",
        "玻璃窗",
        "木质地板",
        "青苔",
        "石板路",
        "晚霞",
        "彩虹",
        "极光",
        "萤火虫",
        "水面波光",
    ],
    0.8,
)
DETAIL_EN = _zipf(
    [
        "soft lighting",
        "rim light",
        "golden hour",
        "volumetric fog",
        "neon lights",
        "reflections",
        "depth of field",
        "bokeh",
        "rain drops",
        "falling petals",
        "intricate details",
        "wide angle",
        "close-up",
        "full body",
        "backlit",
        "dramatic sky",
        "starry sky",
        "moonlight",
        "snowflakes",
        "autumn leaves",
        "paper lanterns",
        "red dress",
        "long hair",
        "detailed eyes",
        "wooden floor",
        "mossy stones",
        "aurora",
        "fireflies",
        "low angle",
        "symmetrical composition",
    ],
    0.8,
)
STYLE_ZH = _zipf(
    [
        "高清照片",
        "油画风格",
        "动漫风格",
        "赛璐璐",
        "水彩画",
        "摄影作品",
        "电影质感",
        "国画",
        "水墨画",
        "像素风",
        "素描",
        "浮世绘",
        "赛博朋克风格",
        "概念艺术",
        "吉卜力风格",
        "插画",
        "厚涂",
        "版画",
    ],
    0.7,
)
STYLE_EN = _zipf(
    [
        "photorealistic",
        "oil painting",
        "anime",
        "cinematic",
        "watercolor",
        "digital art",
        "concept art",
        "film photography",
        "pixel art",
        "3d render",
        "ukiyo-e",
        "studio ghibli style",
        "pencil sketch",
        "illustration",
        "impressionism",
        "art nouveau",
    ],
    0.7,
)
CAMERA_EN = _zipf(
    [
        "35mm lens",
        "85mm portrait lens",
        "shot on Fujifilm",
        "shot on Canon EOS R5",
        "f/1.8",
        "long exposure",
        "macro",
        "aerial view",
    ]
)
QUALITY_ZH = _zipf(["杰作", "最佳质量", "超高清", "8K", "细节丰富", "高分辨率", "精美", "大师作品"])
QUALITY_EN = _zipf(
    [
        "masterpiece",
        "best quality",
        "ultra detailed",
        "8k",
        "HDR",
        "high resolution",
        "sharp focus",
        "award winning",
        "trending on artstation",
        "highly detailed",
    ]
)
NEGATIVE = [
    "",
    "低质量，模糊，变形，多余的手指，水印",
    "lowres, bad anatomy, bad hands, text, error, missing fingers, blurry, watermark",
    "worst quality, low quality, jpeg artifacts, signature, watermark",
    "模糊，低分辨率，畸形，文字",
    "nsfw, lowres, blurry",
]
NEGATIVE_W = [40, 20, 20, 10, 7, 3]

# (name, weight, variant, steps choices, cfg choices, sampler, seconds per megapixel)
MODELS: list[tuple[str, float, str | None, list[int], list[float], str, float]] = [
    ("Z-Image-Turbo", 55, "turbo", [8, 8, 8, 9, 9, 10], [0.0], "FlowMatchEuler", 1.1),
    ("Z-Image", 20, None, [28, 30, 30, 40, 50], [3.5, 4.0, 4.0, 4.5, 5.0], "FlowMatchEuler", 6.0),
    ("FLUX.1-dev", 10, "dev", [20, 25, 28, 30, 50], [3.0, 3.5, 3.5, 4.0], "FlowMatchEuler", 9.0),
    (
        "stable-diffusion-xl-base-1.0",
        8,
        "base",
        [20, 25, 30, 40],
        [5.0, 6.0, 7.0, 7.5, 9.0],
        "DPM++ 2M Karras",
        4.0,
    ),
    ("Qwen-Image", 5, None, [30, 40, 50], [4.0, 4.5, 5.0], "FlowMatchEuler", 12.0),
    ("stable-diffusion-v1-5", 2, None, [20, 25, 30, 50], [7.0, 7.5, 8.0], "Euler a", 2.0),
]
SIZES = _w(
    ("1024x1024", 40),
    ("768x1344", 12),
    ("1344x768", 12),
    ("832x1216", 10),
    ("1216x832", 8),
    ("1024x1536", 6),
    ("1536x1024", 6),
    ("2048x2048", 2),
    ("720x1280", 4),
)
SD15_SIZES = ["512x512", "512x768", "768x512"]
TASKS = _w(("text-to-image", 85), ("image-to-image", 10), ("inpaint", 5))


class _Vocab:
    """A weighted vocabulary with each entry's tokens and length precomputed."""

    def __init__(self, vocab: tuple[list[str], list[float]]) -> None:
        self.words, self.cum = vocab
        self.total = self.cum[-1]
        self.length = {w: _length(w) for w in self.words}

    def pick(self, rng: random.Random) -> str:
        return self.words[bisect_right(self.cum, rng.random() * self.total)]


def _length(phrase: str) -> int:
    """Tokens in ``phrase``: CJK characters plus ASCII words (the benchmark's prompt length)."""
    cjk = sum(1 for ch in phrase if ord(ch) >= 0x3000)
    return cjk + len(phrase.encode("ascii", "ignore").split())


V_SUBJECT_ZH, V_SUBJECT_EN = _Vocab(SUBJECT_ZH), _Vocab(SUBJECT_EN)
V_ACTION_ZH, V_ACTION_EN = _Vocab(ACTION_ZH), _Vocab(ACTION_EN)
V_DETAIL_ZH, V_DETAIL_EN = _Vocab(DETAIL_ZH), _Vocab(DETAIL_EN)
V_STYLE_ZH, V_STYLE_EN = _Vocab(STYLE_ZH), _Vocab(STYLE_EN)
V_CAMERA_EN = _Vocab(CAMERA_EN)
V_QUALITY_ZH, V_QUALITY_EN = _Vocab(QUALITY_ZH), _Vocab(QUALITY_EN)
V_SIZES, V_TASKS = _Vocab(SIZES), _Vocab(TASKS)
V_MODELS = _Vocab(_w(*((m[0], m[1]) for m in MODELS)))
MODEL_BY_NAME = {m[0]: m for m in MODELS}
_NEG_CUM = _w(*zip(NEGATIVE, NEGATIVE_W, strict=True))[1]

_TOKENS: dict[str, str] = {}


def _tokens(part: str) -> str:
    """``search_text(part)``, memoised: prompts are phrases joined by separators that end every
    CJK run and word, so a prompt's search text is its phrases' search texts joined by spaces."""
    got = _TOKENS.get(part)
    if got is None:
        got = _TOKENS[part] = search_text(part)
    return got


def prompt(rng: random.Random) -> tuple[str, str]:
    """One prompt of 10-80 tokens (Chinese, English or mixed) and its ``search_text``."""
    mode = rng.random()
    zh_body = mode < 0.7  # zh (0-0.4) and mixed (0.4-0.7) have a Chinese body
    zh_tags = mode < 0.4
    target = int(rng.triangular(10, 80, 28))
    if zh_body:
        head = V_SUBJECT_ZH.pick(rng)
        if rng.random() < 0.6:
            head += V_ACTION_ZH.pick(rng)
        size = _length(head)
    else:
        subject = V_SUBJECT_EN.pick(rng)
        size = V_SUBJECT_EN.length[subject]
        head = subject
        if rng.random() < 0.6:
            action = V_ACTION_EN.pick(rng)
            head = subject + " " + action
            size += V_ACTION_EN.length[action]
    style_v = V_STYLE_ZH if zh_tags else V_STYLE_EN
    quality_v = V_QUALITY_ZH if zh_tags else V_QUALITY_EN
    tail = [style_v.pick(rng)]
    for _ in range(int(rng.random() * 4)):
        q = quality_v.pick(rng)
        if q not in tail:
            tail.append(q)
    tail_size = sum(style_v.length.get(t) or quality_v.length[t] for t in tail)
    parts = [head]
    seen = {head, *tail}
    tries = 0
    while size + tail_size < target and tries < 40:
        tries += 1
        r = rng.random()
        if zh_body:
            v = V_DETAIL_ZH if r < 0.85 else V_STYLE_ZH
        else:
            v = V_DETAIL_EN if r < 0.75 else V_CAMERA_EN if r < 0.9 else V_STYLE_EN
        word = v.pick(rng)
        if word in seen:
            continue
        seen.add(word)
        parts.append(word)
        size += v.length[word]
    if rng.random() < 0.5:  # the style in the middle rather than at the end, sometimes
        parts.insert(1 + int(rng.random() * len(parts)), tail.pop(0))
    parts.extend(tail)
    text = ("，" if zh_body else ", ").join(parts)
    if zh_tags and rng.random() < 0.3:
        text += "。"
    return text, " ".join(_tokens(p) for p in parts)


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
_jstr = json.encoder.encode_basestring  # the C encoder json.dumps uses (ensure_ascii=False)
_START_US = int(START.timestamp()) * 1_000_000
_PRODUCER = "aigc-prov:" + SIGNERS[0][:16]
_SIGNER_CUM = _w(*((s, w) for s, w in zip(SIGNERS, SIGNER_WEIGHTS, strict=True)))[1]
_PHASH_KEYS = [f"phash_{b}" for b in range(PHASH_BANDS)]
_PHASH_SHIFTS = [8 * (PHASH_BANDS - 1 - b) for b in range(PHASH_BANDS)]
BLOCK = 1000  # rows made from one random stream (row i is fixed by seed and i alone)


def _make_record(f: dict[str, Any]) -> dict[str, Any]:
    """A v1 record (the keys and nesting ``build_record`` makes) from its variable fields."""
    return {
        "schema": "urn:aigc-provenance:schema:record:1",
        "version": "1.0",
        "record_id": f["rid"],
        "created_at": f["created"],
        "software": {"name": "aigc-provenance", "version": "0.1.0"},
        "task": {
            "type": f["task"],
            "parent_record_id": f["parent"],
            "input_digest": f["input_digest"],
            "mask_digest": f["mask_digest"],
        },
        "model": {
            "name": f["name"],
            "revision": None,
            "variant": f["variant"],
            "pipeline": f["pipeline"],
            "dtype": "bfloat16",
        },
        "generation": {
            "prompt": f["prompt"],
            "negative_prompt": f["negative"],
            "width": f["width"],
            "height": f["height"],
            "num_inference_steps": f["steps"],
            "cfg_scale": f["cfg"],
            "seed": f["seed"],
            "num_images": 1,
            "sampler": f["sampler"],
        },
        "system": {"torch_version": "2.9.1", "cuda_available": True, "gpu": f["gpu"]},
        "performance": {"generation_time": f["gen_time"], "memory_usage_mb": f["mem"]},
        "content": {
            "format": "png",
            "width": f["width"],
            "height": f["height"],
            "mode": "RGB",
            "pixel_digest": {"alg": "sha256", "value": f["pixel"]},
            "data_digest": {"alg": "blake3", "value": f["data_digest"]},
            "render_digest": {"alg": "sha256", "value": f["pixel"]},
            "phash": f["phash"],
        },
        "labels": {
            "digital_source_type": DIGITAL_SOURCE,
            "aigc": {
                "Label": "1",
                "ContentProducer": _PRODUCER,
                "ProduceID": f["rid"],
                "ReservedCode1": "",
                "ContentPropagator": "",
                "PropagateID": "",
                "ReservedCode2": "",
            },
        },
        "extensions": {},
    }


_RAW_STRINGS = {"rid", "created", "task", "name", "sampler", "gpu", "pixel", "data_digest", "phash"}


def _template() -> str:
    """The record's canonical JSON as a ``str.format`` template over its variable fields.

    Fields in ``_RAW_STRINGS`` are strings that never need escaping (ids, hex, vocabulary names)
    and go in between the template's own quotes; every other field is given already as JSON text
    (numbers as ``str.format`` writes them, which is what ``json.dumps`` writes).
    """
    fields = [
        "rid", "created", "task", "parent", "input_digest", "mask_digest", "name", "variant",
        "pipeline", "prompt", "negative", "width", "height", "steps", "cfg", "seed", "sampler",
        "gpu", "gen_time", "mem", "pixel", "data_digest", "phash",
    ]  # fmt: skip
    encoded = _dumps(_make_record({k: f"\x01{k}\x01" for k in fields}))
    pieces = re.split(r'"\\u0001(\w+)\\u0001"', encoded)
    out = []
    for n, piece in enumerate(pieces):
        if n % 2 == 0:
            out.append(piece.replace("{", "{{").replace("}", "}}"))
        else:
            out.append(f'"{{{piece}}}"' if piece in _RAW_STRINGS else f"{{{piece}}}")
    return "".join(out)


_RECORD_FORMAT = _template().format


def _json(value: Any) -> str:
    """JSON text of a string, None or a small dict (what ``json.dumps`` writes)."""
    if value is None:
        return "null"
    if type(value) is str:
        return _jstr(value)  # type: ignore[no-any-return]
    return _dumps(value)


def record_and_row(rng: random.Random, i: int, span: int = ROW_SPAN) -> dict[str, Any]:
    """The catalog row of synthetic record number ``i`` (``rng`` is the block's stream)."""
    us = _START_US + (YEAR_S * 1_000_000 * i) // span + int(rng.random() * 600_000_000)
    moment = START + timedelta(microseconds=us - _START_US)
    created = moment.isoformat(timespec="microseconds")[:-6] + "Z"
    rand = rng.getrandbits(74)
    uid = ((us // 1000) & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 62 & 0xFFF) << 64
    h = f"{uid | 0b10 << 62 | (rand & ((1 << 62) - 1)):032x}"
    rid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    name = V_MODELS.pick(rng)
    _, _, variant, steps_choices, cfg_choices, sampler, sec_per_mp = MODEL_BY_NAME[name]
    if name == "stable-diffusion-v1-5":
        size = SD15_SIZES[int(rng.random() * len(SD15_SIZES))]
    else:
        size = V_SIZES.pick(rng)
    width, height = _DIMS[size]
    steps = steps_choices[int(rng.random() * len(steps_choices))]
    cfg = cfg_choices[int(rng.random() * len(cfg_choices))]
    task = V_TASKS.pick(rng)
    pixel = rng.randbytes(32).hex()
    data_digest = rng.randbytes(32).hex()
    parent = input_digest = mask_digest = None
    if task != "text-to-image":
        p = f"{rng.getrandbits(128) & ~(0xF << 76) | 0x7 << 76:032x}"
        parent = f"{p[:8]}-{p[8:12]}-{p[12:16]}-{p[16:20]}-{p[20:]}"
        input_digest = {"alg": "sha256", "value": pixel[::-1]}
        if task == "inpaint":
            mask_digest = {"alg": "sha256", "value": data_digest[::-1]}
    mp = width * height / 1_048_576
    gen_time = round(sec_per_mp * mp * steps / max(steps_choices) * (0.85 + rng.random() * 0.45), 3)
    phash_int = rng.getrandbits(64)
    phash = f"{phash_int:016x}"
    text, tokens = prompt(rng)
    negative = NEGATIVE[bisect_right(_NEG_CUM, rng.random() * _NEG_CUM[-1])]
    seed = rng.getrandbits(32) if rng.random() < 0.97 else rng.getrandbits(53)
    record_bytes = _RECORD_FORMAT(
        rid=rid,
        created=created,
        task=task,
        parent=_json(parent),
        input_digest=_json(input_digest),
        mask_digest=_json(mask_digest),
        name=name,
        variant=_json(variant),
        pipeline='"ZImagePipeline"' if name.startswith("Z-Image") else "null",
        prompt=_jstr(text),
        negative=_NEGATIVE_JSON[negative],
        width=width,
        height=height,
        steps=steps,
        cfg=cfg,
        seed=seed,
        sampler=sampler,
        gpu="NVIDIA GeForce RTX 4090" if rng.random() < 0.7 else "NVIDIA H100 80GB HBM3",
        gen_time=gen_time,
        mem=(17850, 18230, 21400, 23900)[int(rng.random() * 4)],
        pixel=pixel,
        data_digest=data_digest,
        phash=phash,
    ).encode("utf-8")
    signer = bisect_right(_SIGNER_CUM, rng.random() * _SIGNER_CUM[-1])
    envelope = (
        _ENVELOPE_HEAD
        + base64.b64encode(record_bytes).decode("ascii")
        + _ENVELOPE_SIG[signer]
        + base64.b64encode(rng.randbytes(64)).decode("ascii")
        + '"}]}'
    )
    values = {
        "record_id": rid,
        "state": "complete",
        "created_at": moment,
        "inserted_at": _NOW,
        "schema_version": "1",
        "task": task,
        "model_name": name,
        "model_variant": variant,
        "prompt": text,
        "negative_prompt": negative,
        "search_text": tokens,
        "seed": seed,
        "steps": steps,
        "cfg_scale": cfg,
        "width": width,
        "height": height,
        "sampler": sampler,
        "generation_time": gen_time,
        "pixel_digest": pixel,
        "data_digest": data_digest,
        "phash": phash,
        "signer_key_id": SIGNERS[signer],
        "parent_record_id": parent,
        "file_path": f"/home/user/aigc/out/{created[:10]}/{rid}.png",
        "file_digest": rng.randbytes(32).hex(),
        "source_digest": None,  # generated here, not imported
        "record_bytes": record_bytes,
        "envelope": envelope,
        "rating": 1 + int(rng.random() * 5) if rng.random() < 0.08 else None,
    }
    for key, shift in zip(_PHASH_KEYS, _PHASH_SHIFTS, strict=True):
        values[key] = (phash_int >> shift) & 0xFF
    return values


_NEGATIVE_JSON = {text: _jstr(text) for text in NEGATIVE}
_DIMS = {size: tuple(int(v) for v in size.split("x")) for size in [*SIZES[0], *SD15_SIZES]}
_ENVELOPE_HEAD = '{"payloadType":"' + PAYLOAD_TYPE + '","payload":"'
_ENVELOPE_SIG = [
    f'","signatures":[{{"keyid":"{key_id}","publicKey":"{public}","sig":"'
    for key_id, public in zip(SIGNERS, PUBLIC_KEYS, strict=True)
]
_NOW = datetime(2026, 11, 21, tzinfo=UTC)  # inserted_at: fixed, so rows are reproducible


def _block(block: int, seed: int, span: int) -> list[dict[str, Any]]:
    rng = random.Random(seed * 1_000_003 + block)
    return [record_and_row(rng, i, span) for i in range(block * BLOCK, (block + 1) * BLOCK)]


def rows(
    start: int, count: int, seed: int = DEFAULT_SEED, span: int = ROW_SPAN
) -> list[dict[str, Any]]:
    """Rows ``start`` .. ``start + count - 1`` for ``Catalog.add_records``, deterministic in
    ``seed``, ``span`` (the catalog size over which ``created_at`` covers a year) and the row."""
    out: list[dict[str, Any]] = []
    for block in range(start // BLOCK, (start + count + BLOCK - 1) // BLOCK):
        first = block * BLOCK
        lo, hi = max(start - first, 0), min(start + count - first, BLOCK)
        out.extend(_block(block, seed, span)[lo:hi])
    return out


def records(start: int, count: int, seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """The records behind ``rows(start, count, seed)`` (their ``record_bytes``, parsed)."""
    return [json.loads(r["record_bytes"]) for r in rows(start, count, seed)]


def self_check(count: int = 2000, seed: int = DEFAULT_SEED) -> None:
    """Every shortcut gives what the real code gives: each record is a valid v1 record, its bytes
    are its canonical JSON, and the row equals ``record_values`` of it (``search_text``, bands)."""
    from provenance import schema

    for values in rows(0, count, seed):
        rec = json.loads(values["record_bytes"])
        schema.validate(rec, schema.detect_version(rec))  # v1 records: catalogs keep them
        if _dumps(rec).encode("utf-8") != values["record_bytes"]:
            raise AssertionError(f"row {rec['record_id']}: record bytes are not canonical")
        want = record_values(
            rec,
            values["record_bytes"],
            values["envelope"],
            values["signer_key_id"],
            file_path=values["file_path"],
            state="complete",
            file_digest=values["file_digest"],
        )
        for key, value in want.items():
            if key != "inserted_at" and values[key] != value:
                raise AssertionError(f"row {rec['record_id']}: {key} {values[key]!r} != {value!r}")
        envelope = json.loads(values["envelope"])
        if base64.b64decode(envelope["payload"]) != values["record_bytes"]:
            raise AssertionError(f"row {rec['record_id']}: envelope payload differs")


if __name__ == "__main__":  # a quick look and a timing: python bench/_synthetic_records.py [N]
    import sys
    import time

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    self_check()
    for rec in records(0, 8):
        print(rec["generation"]["prompt"])
    t0 = time.perf_counter()
    out = rows(0, n)
    elapsed = time.perf_counter() - t0
    size = sum(len(r["record_bytes"]) + len(r["envelope"]) for r in out) / n
    print(f"{n} rows in {elapsed:.2f} s = {n / elapsed:,.0f} rows/s; record+envelope {size:.0f} B")
