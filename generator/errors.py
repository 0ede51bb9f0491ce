"""Errors the generator raises on purpose; part of the one hierarchy rooted at ProvenanceError."""

from __future__ import annotations

from provenance.errors import ProvenanceError

__all__ = ["GenerationCancelled", "GenerationError", "GenerationRequestError", "ModelLoadError"]


class GenerationError(ProvenanceError):
    """A generation could not run or finish."""


class GenerationRequestError(GenerationError, ValueError):
    """The request is wrong (size, steps, prompt, model, edit input); found before loading."""


class ModelLoadError(GenerationError):
    """The model exists but could not be loaded (missing files, wrong pipeline, no download)."""


class GenerationCancelled(GenerationError):
    """The user stopped the run (Ctrl-C): finished images are kept, nothing is half-written."""
