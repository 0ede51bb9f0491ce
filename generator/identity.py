"""Who the model is: digests of its weights and a fingerprint of its configuration.

- **Config fingerprint**: sha256 over each component's configuration as canonical JSON, after
  dropping the keys that change with library versions, save/load or ``PYTHONHASHSEED``
  (``_use_default_values`` is built from a set). Stable across processes and save/load.
- **Weights digest**: for a folder, sha256 of every weights file (cached per folder by path,
  size and modification time, so a 19 GB checkpoint is hashed once), combined into one digest
  over the sorted ``path sha256`` lines. For the built-in model, sha256 over its tensors.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenance._files import atomic_write_bytes

__all__ = [
    "WEIGHT_SUFFIXES",
    "ModelIdentity",
    "combined_files_digest",
    "config_fingerprint",
    "file_digests",
    "identify",
    "state_dict_digest",
]

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt", ".pth", ".gguf")
_VOLATILE_KEYS = frozenset(
    {
        "_name_or_path",
        "_diffusers_version",
        "transformers_version",
        "_commit_hash",
        "_use_default_values",
        "_class_name",
        "architectures",
        "dtype",
        "torch_dtype",
    }
)


@dataclass(frozen=True)
class ModelIdentity:
    """What the record says about the model that made an image."""

    pipeline_class: str
    components: dict[str, dict[str, str]]  # name -> {class, config_sha256}
    config_fingerprint: str
    weights_digest: str
    weight_files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    scheduler_class: str = ""
    scheduler_config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pipeline_class": self.pipeline_class,
            "components": self.components,
            "config_fingerprint": self.config_fingerprint,
            "weights_digest": self.weights_digest,
            "weight_files": self.weight_files,
            "scheduler_class": self.scheduler_class,
            "scheduler_config": self.scheduler_config,
        }


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items() if k not in _VOLATILE_KEYS}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


def _sha256_json(value: Any) -> str:
    text = json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _component_config(component: Any) -> dict[str, Any] | None:
    config = getattr(component, "config", None)
    if config is None:
        return None
    if hasattr(config, "to_dict"):
        return dict(config.to_dict())
    return dict(config)


def _tokenizer_state(tokenizer: Any) -> dict[str, Any]:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    return {
        "tokenizer": backend.to_str() if backend is not None else repr(tokenizer.get_vocab()),
        "chat_template": getattr(tokenizer, "chat_template", None),
    }


def config_fingerprint(pipe: Any) -> tuple[str, dict[str, dict[str, str]]]:
    """(fingerprint, per-component class and config digest) for a diffusers pipeline."""
    components: dict[str, dict[str, str]] = {}
    for name, component in sorted(pipe.components.items()):
        if component is None:
            continue
        if name == "tokenizer" or name.endswith("_tokenizer") or "processor" in name:
            digest = _sha256_json(_tokenizer_state(component))
        else:
            config = _component_config(component)
            digest = _sha256_json(config if config is not None else {})
        components[name] = {"class": type(component).__name__, "config_sha256": digest}
    whole = _sha256_json({"pipeline": type(pipe).__name__, "components": components})
    return whole, components


def state_dict_digest(pipe: Any) -> str:
    """sha256 over every module's tensors (name, dtype, shape, bytes), sorted by name."""
    import torch

    digest = hashlib.sha256()
    for comp_name, component in sorted(pipe.components.items()):
        if not isinstance(component, torch.nn.Module):
            continue
        for name, tensor in sorted(component.state_dict().items()):
            data = tensor.detach().to("cpu").contiguous()
            digest.update(f"{comp_name}.{name}|{data.dtype}|{tuple(data.shape)}\n".encode())
            digest.update(data.view(torch.uint8).numpy().tobytes() if data.numel() else b"")
    return digest.hexdigest()


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for piece in iter(lambda: handle.read(1 << 22), b""):
            digest.update(piece)
    return digest.hexdigest()


def file_digests(folder: Path, cache_file: Path | None = None) -> dict[str, str]:
    """sha256 of each weights file under ``folder`` (relative posix path -> hex), reusing
    ``cache_file`` entries whose path, size and modification time still match."""
    cache: dict[str, dict[str, Any]] = {}
    if cache_file is not None and cache_file.is_file():
        try:
            loaded = json.loads(cache_file.read_text("utf-8"))
            cache = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            cache = {}
    out: dict[str, str] = {}
    changed = False
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix not in WEIGHT_SUFFIXES:
            continue
        real = path.resolve()  # the hub cache links snapshots to blobs
        info = real.stat()
        key = str(real)
        entry = cache.get(key)
        if (
            isinstance(entry, dict)
            and entry.get("size") == info.st_size
            and entry.get("mtime_ns") == info.st_mtime_ns
            and isinstance(entry.get("sha256"), str)
        ):
            sha = str(entry["sha256"])
        else:
            sha = _hash_file(real)
            cache[key] = {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "sha256": sha}
            changed = True
        out[path.relative_to(folder).as_posix()] = sha
    if changed and cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(cache, indent=1, sort_keys=True).encode() + b"\n"
        atomic_write_bytes(cache_file, data, overwrite=True)
    return out


def combined_files_digest(files: dict[str, str]) -> str:
    lines = "".join(f"{path} {sha}\n" for path, sha in sorted(files.items()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def identify(pipe: Any, folder: Path | None, cache_file: Path | None) -> ModelIdentity:
    """The identity of a loaded pipeline (``folder``: where it was loaded from, if anywhere)."""
    fingerprint, components = config_fingerprint(pipe)
    if folder is not None:
        files = file_digests(folder, cache_file)
        weights = combined_files_digest(files)
    else:
        files = {}
        weights = state_dict_digest(pipe)
    scheduler = pipe.components.get("scheduler")
    return ModelIdentity(
        pipeline_class=type(pipe).__name__,
        components=components,
        config_fingerprint=fingerprint,
        weights_digest=weights,
        weight_files=files,
        scheduler_class=type(scheduler).__name__ if scheduler is not None else "",
        scheduler_config=_canonical(_component_config(scheduler) or {}),
    )
