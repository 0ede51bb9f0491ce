"""Binding a record to image content.

* ``pixel_digest``: SHA-256 over ``aigc-prov-pixels-v1``, the mode, the size and the raw decoded
  bytes. It survives a lossless re-encode or any metadata edit. Palette images are compared as
  RGBA so that a re-ordered palette does not count as a change.
* the *data digest* (``provenance.extract.png.scan_png``): BLAKE3 over the file minus our own
  metadata chunks, no decoding needed; the fast path of verification.
* the *render digest* (same scan): the chunks that change how identical pixels are displayed.
* ``perceptual_hash``: a 64-bit DCT hash (pHash) for finding near-duplicates in the catalog.
  Never used to verify anything.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:  # numpy is imported when a perceptual hash is first computed
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "canonical_image",
    "canonical_mode",
    "hamming_distance",
    "perceptual_hash",
    "pixel_digest",
]

_PIXEL_DOMAIN = b"aigc-prov-pixels-v1\0"
_STRIP_BYTES = 1 << 20
_KEPT_MODES = {"1", "L", "LA", "RGB", "RGBA", "I;16", "I"}


def canonical_mode(mode: str) -> str:
    """The mode the digest of an image in ``mode`` is taken in (known without decoding)."""
    if mode in ("P", "PA"):
        return "RGBA"
    return mode if mode in _KEPT_MODES else "RGB"


def canonical_image(image: Image.Image) -> Image.Image:
    """The image in the mode its digest is taken in (palette and exotic modes converted)."""
    mode = canonical_mode(image.mode)
    return image if mode == image.mode else image.convert(mode)


def pixel_digest(image: Image.Image) -> str:
    """Hex SHA-256 of the decoded pixels of ``image`` (mode and size included)."""
    image = canonical_image(image)
    width, height = image.size
    digest = hashlib.sha256(_PIXEL_DOMAIN)
    digest.update(f"{image.mode}\0{width}x{height}\0".encode("ascii"))
    row_bytes = max(1, len(image.crop((0, 0, width, 1)).tobytes()))
    rows = max(1, _STRIP_BYTES // row_bytes)
    if rows >= height:
        digest.update(image.tobytes())
    else:
        # Strips keep the extra memory at ~1 MiB instead of a full copy of the pixels.
        for top in range(0, height, rows):
            digest.update(image.crop((0, top, width, min(height, top + rows))).tobytes())
    return digest.hexdigest()


@cache
def _dct_matrix(size: int) -> NDArray[np.float64]:
    import numpy as np

    k = np.arange(size)
    matrix = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * size))
    matrix[0] *= 1 / np.sqrt(2)
    result: NDArray[np.float64] = matrix * np.sqrt(2 / size)
    return result


def perceptual_hash(image: Image.Image) -> str:
    """64-bit pHash as 16 hex digits: DCT of a 32x32 grey image, low 8x8 against the median."""
    import numpy as np

    grey = image.convert("L").resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=3.0)
    pixels = np.asarray(grey, dtype=np.float64)
    dct = _dct_matrix(32)
    low = (dct @ pixels @ dct.T)[:8, :8]
    bits = (low > np.median(low)).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def hamming_distance(a: str, b: str) -> int:
    """Number of differing bits between two hex perceptual hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
