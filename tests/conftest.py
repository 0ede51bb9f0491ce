"""Shared fixtures: a key ring in a temporary folder and small signed images."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
from PIL import Image

from provenance import (
    Attestation,
    KeyRing,
    KeyRingPolicy,
    SignedImage,
    SigningKey,
    draft_from_attestation,
    sign_image,
)

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    keyring = KeyRing.open(tmp_path / "keys")
    keyring.init()
    return keyring


@pytest.fixture
def key(ring: KeyRing) -> SigningKey:
    return ring.signing_key()


@pytest.fixture
def policy(ring: KeyRing) -> KeyRingPolicy:
    return KeyRingPolicy(ring)


def sample_image(seed: int = 0, size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A small deterministic image with smooth regions and noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (w + h)], axis=-1)
    noisy = base + rng.normal(0, 12, base.shape)
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8), mode="RGB")


def attestation(prompt: str = "an orange cat on a windowsill, photo", **kw: object) -> dict:
    facts = {
        "negative_prompt": "blurry",
        "seed": 42,
        "steps": 8,
        "cfg_scale": 0.0,
        "model": "Z-Image-Turbo",
        "sampler": "Euler",
    }
    facts.update(kw)
    return draft_from_attestation(Attestation(prompt=prompt, **facts))  # type: ignore[arg-type]


@pytest.fixture
def make_signed(key: SigningKey) -> Callable[..., SignedImage]:
    def make(
        prompt: str = "an orange cat on a windowsill, photo",
        seed: int = 0,
        signing_key: SigningKey | None = None,
        **kw: object,
    ) -> SignedImage:
        return sign_image(sample_image(seed), attestation(prompt, **kw), signing_key or key)

    return make
