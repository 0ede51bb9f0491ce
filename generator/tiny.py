"""The built-in test model: the real Z-Image classes, about 0.7 M random parameters, built offline.

Every tensor is overwritten from a NumPy generator seeded with (init seed, CRC-32 of the tensor's
name), so the weights do not depend on torch's or transformers' initialisation code: the same
seed builds the same model on every machine and library version. The tokenizer is a real
``Qwen2Tokenizer`` built in memory (every UTF-8 byte one token, the chat template Z-Image needs).

Its pictures are noise. It exists to run the real code path end to end where no weights can be
downloaded, and :func:`save_tiny_model` writes it as an ordinary diffusers folder that loads back
through the same ``from_pretrained`` path as a real checkpoint.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from generator.presets import TINY_INIT_SEED, TINY_MARKER_FILE

__all__ = ["build_tiny_pipeline", "save_tiny_model"]

_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>")
_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _byte_alphabet() -> list[str]:
    """GPT-2's printable stand-ins for the 256 byte values (what byte-level BPE uses)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table: dict[int, str] = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in range(256)]


def _tokenizer() -> Any:
    from transformers import Qwen2Tokenizer

    vocab = {symbol: i for i, symbol in enumerate(_byte_alphabet())}
    for offset, token in enumerate(_SPECIALS):
        vocab[token] = 256 + offset
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=[],
        unk_token=None,  # type: ignore[arg-type]  # every byte is in the vocabulary
        bos_token=None,
        eos_token="<|im_end|>",  # noqa: S106 - a token name, not a password
        pad_token="<|endoftext|>",  # noqa: S106
        additional_special_tokens=list(_SPECIALS[1:]),
    )
    tokenizer.chat_template = _CHAT_TEMPLATE
    return tokenizer


def _seeded_fill(module: torch.nn.Module, seed: int, component: str) -> None:
    """Overwrite every parameter and floating buffer from a NumPy generator (version-proof)."""
    with torch.no_grad():
        tensors: dict[str, torch.Tensor] = dict(module.named_parameters())
        tensors.update(
            (n, b) for n, b in module.named_buffers() if b.is_floating_point() and n not in tensors
        )
        for name, tensor in sorted(tensors.items()):
            full = f"{component}.{name}"
            if "rope" in name or "freqs" in name or "inv_freq" in name:
                continue  # fixed positional tables, not weights
            rng = np.random.default_rng([seed, zlib.crc32(full.encode())])
            shape = tuple(tensor.shape)
            if tensor.ndim >= 2:
                fan_in = int(np.prod(shape[1:]))
                values = rng.normal(0.0, (1.0 / fan_in) ** 0.5, shape)
            elif name.endswith("weight"):
                values = np.ones(shape)
            else:
                values = rng.normal(0.0, 0.02, shape)
            tensor.copy_(torch.from_numpy(values.astype(np.float32)))


def build_tiny_pipeline(seed: int = TINY_INIT_SEED) -> Any:
    """A ``ZImagePipeline`` with real component classes and seeded random weights (fp32, CPU)."""
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        ZImagePipeline,
        ZImageTransformer2DModel,
    )
    from transformers import Qwen3Config, Qwen3Model

    transformer = ZImageTransformer2DModel(
        all_patch_size=(2,),
        all_f_patch_size=(1,),
        in_channels=16,
        dim=64,
        n_layers=2,
        n_refiner_layers=1,
        n_heads=2,
        n_kv_heads=2,
        qk_norm=True,
        cap_feat_dim=32,
        axes_dims=[8, 12, 12],
        axes_lens=[1024, 512, 512],
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(16, 16, 16, 16),
        layers_per_block=1,
        latent_channels=16,
        norm_num_groups=8,
        scaling_factor=0.3611,
        shift_factor=0.1159,
        use_quant_conv=False,
        use_post_quant_conv=False,
    )
    text_encoder = Qwen3Model(
        Qwen3Config(
            vocab_size=261,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            head_dim=16,
            max_position_embeddings=1024,
            pad_token_id=256,
        )
    )
    for name, module in (
        ("transformer", transformer),
        ("vae", vae),
        ("text_encoder", text_encoder),
    ):
        _seeded_fill(module, seed, name)
        module.eval()
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=False)
    return ZImagePipeline(
        scheduler=scheduler,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=_tokenizer(),
        transformer=transformer,
    )


def save_tiny_model(folder: Path, seed: int = TINY_INIT_SEED) -> Path:
    """Write the test model as a diffusers folder plus a marker naming it; returns ``folder``."""
    from generator.presets import PRESETS

    pipe = build_tiny_pipeline(seed)
    folder.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(str(folder))
    preset = PRESETS["tiny-z-image"]
    marker = {
        "name": f"aigc-provenance/{preset.name}",
        "preset": preset.name,
        "init_seed": seed,
        "revision": f"tiny-v1-seed{seed}",
        "note": preset.description,
    }
    (folder / TINY_MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", "utf-8")
    return folder
