"""ComfyUI: the API-format ``prompt`` graph, wherever a saver put it.

Where the graph is found: a ``prompt`` text chunk (``png:tEXt:prompt``, ``png:comf:prompt``), an
EXIF string ``prompt:{...}`` / ``Prompt: {...}`` (``SaveAnimatedWEBP``, save-image-extended), or
a JSON object holding ``prompt`` (saveimage-plus's UserComment) or being the graph itself
(Civitai's ComfyUI JSON). ``workflow`` (the UI graph) is only noted.

How the parameters are read from the graph:

1. samplers are nodes with a ``positive`` (or ``guider``) input and a latent input;
2. the first-pass samplers are those whose latent input does not come from another sampler
   (walking every link upstream); when the graph has exactly one save node, only samplers
   feeding it count. The size is that of the empty latent reached;
3. prompt texts are found by walking ``positive``/``negative`` upstream through conditioning
   nodes (area, unCLIP, ControlNet, guidance ...) to the text encoders, and each encoder's text
   through primitives, reroutes and concatenation nodes. Node ids are strings, so subgraph ids
   such as ``"12:3"`` need nothing special;
4. with several first-pass samplers, a field is reported only where they all agree; a prompt
   made of several texts (``ConditioningCombine``) is left out and listed in
   ``extra["positive_texts"]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from provenance.extract.interpret._base import Context, Found, as_size, load_json

__all__ = ["Graph", "find_graph", "read", "read_graph"]

_MAX_DEPTH = 200
_PREFIXED = re.compile(r"^\s*(prompt|workflow)\s*:\s*(?=[\[{])", re.IGNORECASE)

#: Text inputs of prompt and string nodes, most specific first.
_TEXT_INPUTS = (
    "populated_text",
    "text",
    "string",
    "prompt",
    "value",
    "text_positive",
    "wildcard_text",
    "Text",
    "STRING",
)
_CONCAT_PART = re.compile(r"^(?:string|text|str)_?([a-z]|\d+)$", re.IGNORECASE)
_MODEL_NAMES = (
    "ckpt_name",
    "unet_name",
    "base_ckpt_name",
    "model_name",
    "checkpoint",
    "model_path",
)


def _link(value: Any) -> str | None:
    """The source node id of a link ``[node_id, output_index]``, else None."""
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str | int)
        and not isinstance(value[0], bool)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    ):
        return str(value[0])
    return None


def _is_graph(obj: Any) -> bool:
    return isinstance(obj, dict) and any(
        isinstance(v, dict) and isinstance(v.get("class_type"), str) for v in obj.values()
    )


@dataclass
class Graph:
    """An API-format graph: node id -> {"class_type", "inputs"}; other entries are ignored."""

    nodes: dict[str, dict[str, Any]]
    other: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_obj(cls, obj: dict[str, Any]) -> Graph:
        nodes: dict[str, dict[str, Any]] = {}
        other: dict[str, Any] = {}
        for key, value in obj.items():
            if isinstance(value, dict) and isinstance(value.get("class_type"), str):
                inputs = value.get("inputs")
                nodes[str(key)] = {
                    "class_type": value["class_type"],
                    "inputs": inputs if isinstance(inputs, dict) else {},
                }
            else:
                other[str(key)] = value
        return cls(nodes, other)

    def cls(self, node_id: str) -> str:
        node = self.nodes.get(node_id)
        return node["class_type"] if node else ""

    def inputs(self, node_id: str) -> dict[str, Any]:
        node = self.nodes.get(node_id)
        return node["inputs"] if node else {}

    # -- node kinds ---------------------------------------------------------------------------

    def is_sampler(self, node_id: str) -> bool:
        ins = self.inputs(node_id)
        has_latent = "latent_image" in ins or "latent" in ins
        return has_latent and ("positive" in ins or _link(ins.get("guider")) is not None)

    def is_empty_latent(self, node_id: str) -> bool:
        name = self.cls(node_id).lower().replace(" ", "")
        ins = self.inputs(node_id)
        return ("empty" in name and "latent" in name) or "empty_latent_width" in ins

    def is_text_encoder(self, node_id: str) -> bool:
        ins = self.inputs(node_id)
        name = self.cls(node_id)
        has_text = any(k in ins for k in (*_TEXT_INPUTS, "text_g", "t5xxl", "clip_l"))
        return ("TextEncode" in name and has_text) or (
            _link(ins.get("clip")) is not None and has_text
        )

    # -- values -------------------------------------------------------------------------------

    def scalar(self, value: Any, names: Iterable[str] = (), depth: int = 0) -> Any:
        """A widget value, following links to primitive-like nodes."""
        source = _link(value)
        if source is None:
            return value
        if depth > _MAX_DEPTH or source not in self.nodes:
            return None
        ins = self.inputs(source)
        for name in (*names, "value", "seed", "noise_seed", "int", "float", "number", "Value"):
            if name in ins:
                return self.scalar(ins[name], names, depth + 1)
        if len(ins) == 1:
            return self.scalar(next(iter(ins.values())), names, depth + 1)
        return None

    def text(self, value: Any, depth: int = 0) -> str | None:
        """A string input's text, through string primitives, reroutes and concatenations."""
        if isinstance(value, str):
            return value
        source = _link(value)
        if source is None or depth > _MAX_DEPTH or source not in self.nodes:
            return None
        ins = self.inputs(source)
        if "text_positive" in ins and "text_negative" in ins:  # stylers: two string outputs
            side = "text_negative" if isinstance(value, list) and value[1] == 1 else "text_positive"
            return self.text(ins[side], depth + 1)
        parts = sorted((k for k in ins if _CONCAT_PART.match(k)), key=_part_order)
        if len(parts) >= 2:
            return self._concat(ins, parts, depth)
        for name in _TEXT_INPUTS:
            if name in ins:
                return self.text(ins[name], depth + 1)
        links = [v for v in ins.values() if _link(v) is not None]
        strings = [v for v in ins.values() if isinstance(v, str)]
        if len(links) == 1 and not strings:
            return self.text(links[0], depth + 1)
        if len(strings) == 1 and not links:
            return strings[0]
        return None

    def _concat(self, ins: dict[str, Any], parts: list[str], depth: int) -> str | None:
        delimiter = ""
        for name in ("delimiter", "separator", "sep", "join_with"):
            if name in ins:
                found = self.text(ins[name], depth + 1)
                delimiter = found if found is not None else ""
                break
        # WAS "Text Concatenate" strips inputs on request and always skips empty ones.
        was_style = "clean_whitespace" in ins
        if was_style and delimiter == "\\n":
            delimiter = "\n"
        clean = str(ins.get("clean_whitespace", "")).lower() == "true"
        texts: list[str] = []
        for name in parts:
            piece = self.text(ins[name], depth + 1)
            if piece is None:
                continue
            if clean:
                piece = piece.strip()
            if was_style and not piece:
                continue
            texts.append(piece)
        return delimiter.join(texts) if texts else None

    def encoder_text(self, node_id: str) -> str | None:
        ins = self.inputs(node_id)
        for names in (
            ("populated_text", "text", "prompt"),
            ("text_g", "text_l"),
            ("t5xxl", "clip_l"),
        ):
            for name in names:
                if name in ins:
                    found = self.text(ins[name])
                    if found is not None and (found.strip() or name == names[-1]):
                        return found
        for name in _TEXT_INPUTS:
            if name in ins:
                return self.text(ins[name])
        return None

    def conditioning_texts(
        self, value: Any, side: str, notes: dict[str, Any], depth: int = 0
    ) -> list[str | None]:
        """The texts a conditioning link is made of (None for an encoder whose text is unknown)."""
        if isinstance(value, str):  # loaders that take the prompt as a widget (Efficient Loader)
            return [value]
        source = _link(value)
        if source is None or depth > _MAX_DEPTH or source not in self.nodes:
            return []
        ins = self.inputs(source)
        if "ZeroOut" in self.cls(source):  # a zeroed conditioning holds no text
            return []
        if "guidance" in ins and "FluxGuidance" in self.cls(source):
            notes.setdefault("flux_guidance", self.scalar(ins["guidance"]))
        if self.is_text_encoder(source) and not isinstance(ins.get(side), str):
            return [self.encoder_text(source)]
        if side in ins:
            # ControlNet and inpaint nodes pass one side on; loaders that encode the prompt
            # themselves (Efficient Loader) take it as a string widget or a string link.
            if isinstance(ins[side], str):
                return [ins[side]]
            passed = self.conditioning_texts(ins[side], side, notes, depth + 1)
            if passed:
                return passed
            text = self.text(ins[side], depth + 1)
            return [text] if text is not None else []
        conditioning = [k for k in ins if "conditioning" in k.lower() and _link(ins[k])]
        texts: list[str | None] = []
        for name in conditioning:
            texts.extend(self.conditioning_texts(ins[name], side, notes, depth + 1))
        return texts

    def model_name(self, value: Any, loras: list[Any], depth: int = 0) -> str | None:
        """The checkpoint behind a ``model`` link, collecting LoRAs on the way."""
        source = _link(value)
        if source is None or depth > _MAX_DEPTH or source not in self.nodes:
            return None
        ins = self.inputs(source)
        if isinstance(ins.get("lora_name"), str):
            loras.append({"name": ins["lora_name"], "strength": ins.get("strength_model")})
        for name in _MODEL_NAMES:
            found = self.scalar(ins.get(name))
            if isinstance(found, str):
                return found
        if "model" in ins:
            return self.model_name(ins["model"], loras, depth + 1)
        models = [v for k, v in ins.items() if "model" in k.lower() and _link(v)]
        return self.model_name(models[0], loras, depth + 1) if len(models) == 1 else None

    # -- structure ----------------------------------------------------------------------------

    def upstream(self, start: Iterable[str]) -> set[str]:
        """Every node reachable by following links upstream from ``start`` (included)."""
        seen: set[str] = set()
        stack = [s for s in start if s in self.nodes]
        while stack:
            node_id = stack.pop()
            if node_id in seen:
                continue
            seen.add(node_id)
            for value in self.inputs(node_id).values():
                source = _link(value)
                if source is not None and source in self.nodes and source not in seen:
                    stack.append(source)
        return seen

    def latent_origin(self, sampler_id: str) -> tuple[bool, list[tuple[Any, Any]]]:
        """Whether a sampler's latent comes from no other sampler, and the empty-latent sizes."""
        ins = self.inputs(sampler_id)
        start = _link(ins.get("latent_image", ins.get("latent")))
        sizes: list[tuple[Any, Any]] = []
        seen: set[str] = set()
        stack = [start] if start is not None else []
        first_pass = True
        while stack:
            node_id = stack.pop()
            if node_id in seen or node_id not in self.nodes:
                continue
            seen.add(node_id)
            if node_id != sampler_id and self.is_sampler(node_id):
                first_pass = False
                continue
            if self.is_empty_latent(node_id):
                sizes.append(self._latent_size(node_id))
                continue
            stack.extend(s for v in self.inputs(node_id).values() if (s := _link(v)) is not None)
        return first_pass, sizes

    def _latent_size(self, node_id: str) -> tuple[Any, Any]:
        ins = self.inputs(node_id)
        for width, height in (("width", "height"), ("empty_latent_width", "empty_latent_height")):
            if width in ins and height in ins:
                return self.scalar(ins[width], (width,)), self.scalar(ins[height], (height,))
        for name in ("resolution", "dimensions", "size"):
            size = as_size(_leading_size(self.scalar(ins.get(name))))
            if size is not None:
                return size
        return None, None

    def save_nodes(self) -> list[str]:
        return [
            n for n in self.nodes if "images" in self.inputs(n) and ("save" in self.cls(n).lower())
        ]


def _part_order(name: str) -> tuple[int, str]:
    """string_a < string_b < ... and text1 < text2 < ... < text10."""
    match = _CONCAT_PART.match(name)
    suffix = match.group(1) if match else name
    return len(suffix), suffix.lower()


def _leading_size(value: Any) -> Any:
    """``"1024 x 1024 (square)"`` -> ``"1024 x 1024"``."""
    if isinstance(value, str):
        match = re.match(r"\s*(\d+\s*[x×]\s*\d+)", value)
        return match.group(1) if match else value
    return value


@dataclass
class _SamplerView:
    node: str
    positive: Any = None
    negative: Any = None
    seed: Any = None
    steps: Any = None
    cfg: Any = None
    sampler: Any = None
    scheduler: Any = None
    model: Any = None
    denoise: Any = None


def _sampler_view(graph: Graph, node_id: str) -> _SamplerView:
    ins = graph.inputs(node_id)
    view = _SamplerView(
        node=node_id,
        positive=ins.get("positive"),
        negative=ins.get("negative"),
        seed=graph.scalar(ins.get("seed", ins.get("noise_seed")), ("seed", "noise_seed")),
        steps=graph.scalar(ins.get("steps"), ("steps",)),
        cfg=graph.scalar(ins.get("cfg"), ("cfg",)),
        sampler=graph.scalar(ins.get("sampler_name"), ("sampler_name",)),
        scheduler=graph.scalar(ins.get("scheduler"), ("scheduler",)),
        model=ins.get("model"),
        denoise=graph.scalar(ins.get("denoise"), ("denoise",)),
    )
    guider = _link(ins.get("guider"))
    if guider is not None:  # SamplerCustomAdvanced: CFGGuider / BasicGuider
        g = graph.inputs(guider)
        view.positive = g.get("positive", g.get("conditioning"))
        view.negative = g.get("negative")
        view.cfg = graph.scalar(g.get("cfg"), ("cfg",))
        view.model = g.get("model", view.model)
    noise = _link(ins.get("noise"))
    if noise is not None:
        n = graph.inputs(noise)
        view.seed = graph.scalar(n.get("noise_seed", n.get("seed")), ("noise_seed", "seed"))
    sampler = _link(ins.get("sampler"))
    if sampler is not None:
        view.sampler = graph.scalar(graph.inputs(sampler).get("sampler_name"), ("sampler_name",))
    sigmas = _link(ins.get("sigmas"))
    if sigmas is not None:
        s = graph.inputs(sigmas)
        view.steps = graph.scalar(s.get("steps"), ("steps",)) if "steps" in s else view.steps
        view.scheduler = graph.scalar(s.get("scheduler"), ("scheduler",)) or view.scheduler
        view.model = view.model if view.model is not None else s.get("model")
        view.denoise = graph.scalar(s.get("denoise"), ("denoise",)) if "denoise" in s else None
    return view


def _agreed(values: list[Any]) -> Any:
    """The value every candidate agrees on, else None."""
    if not values:
        return None
    first = values[0]
    return first if all(v == first for v in values[1:]) else None


def _single_text(texts: list[str | None]) -> tuple[str | None, list[str]]:
    distinct: list[str] = []
    for text in texts:
        if text is not None and text not in distinct:
            distinct.append(text)
    return (distinct[0] if len(distinct) == 1 else None), distinct


def read_graph(graph: Graph) -> tuple[dict[str, Any], dict[str, Any]]:
    """Generation fields and notes from an API-format graph."""
    samplers = [n for n in graph.nodes if graph.is_sampler(n)]
    notes: dict[str, Any] = {}
    if not samplers:
        return {}, notes
    saves = graph.save_nodes()
    if len(saves) == 1:
        feeding = graph.upstream(saves)
        samplers = [s for s in samplers if s in feeding] or samplers
    origins = {s: graph.latent_origin(s) for s in samplers}
    first = [s for s in samplers if origins[s][0]] or samplers
    views = [_sampler_view(graph, s) for s in first]
    notes["sampler_nodes"] = [v.node for v in views]
    positives: list[str | None] = []
    negatives: list[str | None] = []
    prompts: list[str | None] = []
    negs: list[str | None] = []
    models: list[Any] = []
    loras: list[Any] = []
    sizes: list[tuple[Any, Any]] = []
    for view in views:
        pos_texts = graph.conditioning_texts(view.positive, "positive", notes)
        neg_texts = graph.conditioning_texts(view.negative, "negative", notes)
        positives.extend(pos_texts)
        negatives.extend(neg_texts)
        prompts.append(_single_text(pos_texts)[0])
        negs.append(_single_text(neg_texts)[0])
        models.append(graph.model_name(view.model, loras))
        found = origins[view.node][1]
        sizes.append(found[0] if len({tuple(map(str, s)) for s in found}) == 1 else (None, None))
    generation: dict[str, Any] = {
        "prompt": _agreed(prompts),
        "negative_prompt": _agreed(negs),
        "seed": _agreed([v.seed for v in views]),
        "steps": _agreed([v.steps for v in views]),
        "cfg_scale": _agreed([v.cfg for v in views]),
        "sampler": _agreed([v.sampler for v in views]),
        "scheduler": _agreed([v.scheduler for v in views]),
        "model": _agreed(models),
        "width": _agreed([s[0] for s in sizes]),
        "height": _agreed([s[1] for s in sizes]),
    }
    distinct_positive = _single_text(positives)[1]
    if generation["prompt"] is None and len(distinct_positive) > 1:
        notes["positive_texts"] = distinct_positive
    distinct_negative = _single_text(negatives)[1]
    if generation["negative_prompt"] is None and len(distinct_negative) > 1:
        notes["negative_texts"] = distinct_negative
    denoise = _agreed([v.denoise for v in views])
    if denoise is not None:
        notes["denoise"] = denoise
    if loras:
        notes["loras"] = loras
    if len(samplers) > len(first):
        notes["later_sampler_nodes"] = [s for s in samplers if s not in first]
    return generation, notes


def _parse_graph(value: Any, ctx: Context) -> dict[str, Any] | None:
    if isinstance(value, str):
        value = ctx.json(value)
    return value if _is_graph(value) else None


def find_graph(ctx: Context) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """(location, graph object, the JSON object around it) for the first ComfyUI graph found."""
    for location, text in ctx.items("prompt"):
        graph = _parse_graph(text, ctx)
        if graph is not None:
            return location, graph, graph
    for location, text in ctx.all_texts():
        match = _PREFIXED.match(text)
        if match and match.group(1).lower() == "prompt":
            graph = _parse_graph(text[match.end() :], ctx)
            if graph is not None:
                return location, graph, graph
    for location, text in ctx.all_texts():
        stripped = text.lstrip()
        if not stripped.startswith("{") or "class_type" not in text:
            continue
        obj = ctx.json(text)
        if not isinstance(obj, dict):
            continue
        graph = _parse_graph(obj.get("prompt"), ctx)
        if graph is not None:
            return location, graph, obj
        if _is_graph(obj):
            return location, obj, obj
    return None


def _find_workflow(ctx: Context) -> tuple[str, Any] | None:
    for location, text in ctx.items("workflow"):
        return location, ctx.json(text)
    for location, text in ctx.all_texts():
        match = _PREFIXED.match(text)
        if match and match.group(1).lower() == "workflow":
            return location, load_json(text[match.end() :])
    return None


def read(ctx: Context) -> Found | None:
    found = find_graph(ctx)
    workflow = _find_workflow(ctx)
    if found is None and workflow is None:
        return None
    extra: dict[str, Any] = {}
    if workflow is not None:
        extra["workflow_location"] = workflow[0]
        wf = workflow[1]
        if isinstance(wf, dict) and isinstance(wf.get("extra"), dict):
            version = wf["extra"].get("frontendVersion")
            if isinstance(version, str):
                extra["frontend_version"] = version
    if found is None:
        return Found("comfyui", None, {}, extra, workflow[0] if workflow else "")
    location, graph_obj, container = found
    graph = Graph.from_obj(graph_obj)
    generation, notes = read_graph(graph)
    extra.update(notes)
    tool = "comfyui"
    marks = {**graph.other, **container}
    if "extraMetadata" in marks or "resource-stack" in marks:
        # Civitai's generator: its own parameters beside the graph, used where the graph is
        # silent (an upscale job's graph has no sampler of the original generation).
        tool = "civitai"
        meta = marks.get("extraMetadata")
        meta = load_json(meta) if isinstance(meta, str) else meta
        if isinstance(meta, dict):
            extra["extraMetadata"] = meta
            for target, name in _CIVITAI_FIELDS.items():
                if generation.get(target) is None and name in meta:
                    generation[target] = meta[name]
    return Found(tool, None, generation, extra, location)


_CIVITAI_FIELDS = {
    "prompt": "prompt",
    "negative_prompt": "negativePrompt",
    "cfg_scale": "cfgScale",
    "sampler": "sampler",
    "steps": "steps",
    "seed": "seed",
    "width": "width",
    "height": "height",
}
