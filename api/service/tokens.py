"""Bearer tokens, stored as their SHA-256: hashing and constant-time matching.

Imports nothing but the standard library, so ``aigc-prov serve --hash-token`` works without the
server extra.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

__all__ = ["hash_token", "token_matches"]


def hash_token(token: str) -> str:
    """The SHA-256 (hex) of a bearer token: what ``AIGC_PROV_TOKEN_HASHES`` holds."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, hashes: Iterable[str]) -> bool:
    """Whether ``token`` hashes to one of ``hashes``; every hash is compared (constant time per
    comparison, and no early exit), so timing says nothing about which one matched."""
    digest = hash_token(token)
    matched = False
    for stored in hashes:
        matched |= hmac.compare_digest(digest, stored)
    return matched
