"""Model presets and how a ``--model`` value is resolved, without importing torch.

A model is named by a preset (``tiny-z-image``, ``z-image-turbo``, ``z-image``), a local diffusers
folder, or a Hugging Face id. Resolution decides which, checks that it exists locally, and picks
the defaults (steps, guidance, size) before anything is loaded, so a wrong name fails in
milliseconds with a sentence saying what would work.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from generator.errors import GenerationRequestError

__all__ = [
    "DEFAULT_MODEL",
    "PRESETS",
    "TINY_MARKER_FILE",
    "ModelSource",
    "Preset",
    "resolve_model",
]

Family = Literal["test", "turbo", "base"]


@dataclass(frozen=True)
class Preset:
    """Defaults and advice for one model family member."""

    name: str
    family: Family
    hub_id: str | None  # None: built in memory
    steps: int
    guidance_scale: float
    size: int  # default width and height
    description: str


TINY = Preset(
    name="tiny-z-image",
    family="test",
    hub_id=None,
    steps=8,
    guidance_scale=0.0,
    size=512,
    description=(
        "TEST MODEL: the real Z-Image classes at about 0.7 M random parameters, built offline "
        "from a fixed seed; its pictures are noise"
    ),
)
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        TINY,
        Preset(
            "z-image-turbo",
            "turbo",
            "Tongyi-MAI/Z-Image-Turbo",
            8,
            0.0,
            1024,
            "Z-Image-Turbo: fast drafts, 8 steps, no guidance",
        ),
        Preset(
            "z-image",
            "base",
            "Tongyi-MAI/Z-Image",
            28,
            4.0,
            1024,
            "Z-Image (Base): refinement, 28-50 steps, guidance 3-5, negative prompt",
        ),
    )
}
DEFAULT_MODEL = TINY.name
#: Written next to a saved tiny model so that loading it back keeps its name and defaults.
TINY_MARKER_FILE = "aigc_provenance_model.json"
_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from, resolved but not loaded."""

    name: str  # what the record calls it
    preset: Preset
    kind: Literal["builtin", "folder", "hub"]
    location: str | None  # folder path or hub id
    revision: str | None = None
    init_seed: int | None = None  # built-in models: the initialisation seed
    hub_cache: str | None = None  # hub models: the Hugging Face cache folder to load from

    @property
    def is_test_model(self) -> bool:
        return self.preset.family == "test"


def _folder_source(folder: Path, preset_hint: Preset | None) -> ModelSource:
    index = folder / "model_index.json"
    if not index.is_file():
        raise GenerationRequestError(
            f"model folder {folder} has no model_index.json: it is not a diffusers pipeline folder"
        )
    marker = folder / TINY_MARKER_FILE
    if marker.is_file():
        try:
            info = json.loads(marker.read_text("utf-8"))
            preset = PRESETS[str(info["preset"])]
            return ModelSource(
                name=str(info["name"]),
                preset=preset,
                kind="folder",
                location=str(folder.resolve()),
                revision=info.get("revision"),
                init_seed=info.get("init_seed"),
            )
        except (ValueError, KeyError, TypeError):
            pass  # an odd marker: treat the folder like any other
    return ModelSource(
        name=folder.resolve().name,
        preset=preset_hint or _guess_preset(folder.name),
        kind="folder",
        location=str(folder.resolve()),
    )


def _guess_preset(name: str) -> Preset:
    return PRESETS["z-image-turbo"] if "turbo" in name.lower() else PRESETS["z-image"]


def resolve_model(
    spec: str,
    *,
    hub_cache: Path | None = None,
    allow_download: bool = False,
    revision: str | None = None,
) -> ModelSource:
    """Resolve ``spec`` (preset name, folder, or hub id) without loading anything.

    Hub models must already be in the local cache unless ``allow_download`` is true: nothing is
    ever fetched that the user did not ask for.
    """
    spec = spec.strip()
    if revision is not None and (not _REVISION.match(revision) or ".." in revision):
        raise GenerationRequestError(f"{revision!r} is not a branch, tag or commit name")
    if not spec:
        raise GenerationRequestError("the model name is empty; " + _model_choices())
    if spec in PRESETS:
        preset = PRESETS[spec]
        if preset.hub_id is None:
            return ModelSource(
                name=f"aigc-provenance/{preset.name}",
                preset=preset,
                kind="builtin",
                location=None,
                init_seed=TINY_INIT_SEED,
            )
        return _hub_source(preset.hub_id, preset, hub_cache, allow_download, revision, spec)
    path = Path(spec).expanduser()
    if path.is_dir():
        return _folder_source(path, None)
    if path.exists():
        raise GenerationRequestError(f"model {spec} is a file; give a diffusers pipeline folder")
    if _HUB_ID.match(spec) and not spec.startswith((".", "/")):
        return _hub_source(spec, _guess_preset(spec), hub_cache, allow_download, revision, spec)
    raise GenerationRequestError(f"unknown model {spec!r}; " + _model_choices())


def _model_choices() -> str:
    return (
        "use a preset ("
        + ", ".join(PRESETS)
        + "), a local diffusers folder, or a Hugging Face id already in the local cache"
    )


def _hub_source(
    hub_id: str,
    preset: Preset,
    hub_cache: Path | None,
    allow_download: bool,
    revision: str | None,
    spec: str,
) -> ModelSource:
    if not allow_download and _cached_snapshot(hub_id, hub_cache, revision) is None:
        raise GenerationRequestError(
            f"model {spec!r} ({hub_id}) is not in the local Hugging Face cache"
            + (f" at {hub_cache}" if hub_cache else "")
            + "; pass --allow-download to fetch it (several GB), or give a local folder"
        )
    return ModelSource(
        name=hub_id,
        preset=preset,
        kind="hub",
        location=hub_id,
        revision=revision,
        hub_cache=str(hub_cache) if hub_cache is not None else None,
    )


def _cached_snapshot(hub_id: str, hub_cache: Path | None, revision: str | None) -> Path | None:
    """The cached ``snapshots/<commit>`` folder holding ``model_index.json``, if any."""
    if hub_cache is None:
        return None
    repo = hub_cache / ("models--" + hub_id.replace("/", "--"))
    commit = revision
    if revision is not None and not re.fullmatch(r"[0-9a-f]{40}", revision):
        ref = repo / "refs" / revision
        commit = ref.read_text().strip() if ref.is_file() else None
    elif revision is None:
        ref = repo / "refs" / "main"
        commit = ref.read_text().strip() if ref.is_file() else None
    if commit is None:
        return None
    snapshot = repo / "snapshots" / commit
    return snapshot if (snapshot / "model_index.json").is_file() else None


#: The built-in test model's initialisation seed: fixed, so every machine builds the same weights.
TINY_INIT_SEED = 20251126
