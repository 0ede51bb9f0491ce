"""Generation through provenance: records, batches, edits, lineage, interpolation, cancelling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from generator.engine import Frame, StopFlag, run
from generator.errors import GenerationCancelled
from generator.lineage import lineage
from generator.produce import EXTENSION_KEY, produce
from generator.reproduce import reproduce_record
from provenance import KeyRingPolicy, SigningKey, Status, verify
from provenance.binding import pixel_digest
from provenance.catalog.store import Catalog
from provenance.finalize import open_image

from .conftest import SIZE, checked


@pytest.fixture
def catalog(tmp_path: Path) -> Any:
    with Catalog.open(f"sqlite:///{tmp_path / 'catalog.sqlite'}") as opened:
        yield opened


def test_every_image_is_signed_recorded_and_catalogued(
    tiny_model: Any, key: SigningKey, policy: KeyRingPolicy, catalog: Catalog, tmp_path: Path
) -> None:
    request = checked(negative_prompt="模糊", seed=11, num_images=2)
    made = list(produce(tiny_model, request, key, tmp_path / "out", catalog=catalog))
    assert [m.seed for m in made] == [11, 12]
    for item in made:
        report = verify(item.result.path, policy=policy, catalog=catalog)
        assert report.status is Status.VERIFIED
        assert item.result.sidecar is not None and item.result.sidecar.exists()
        record = item.result.record
        gen, model, info = (
            record["generation"],
            record["model"],
            record["extensions"][EXTENSION_KEY],
        )
        assert (
            gen["prompt"],
            gen["negative_prompt"],
            gen["width"],
            gen["num_inference_steps"],
        ) == (
            "一只橘猫",
            "模糊",
            SIZE,
            4,
        )
        assert gen["seed"] == item.seed and gen["num_images"] == 2
        assert gen["batch"] == {"index": 0, "size": 1, "seeds": [item.seed]}
        assert (model["name"], model["preset"], model["dtype"]) == (
            "aigc-provenance/tiny-z-image",
            "tiny-z-image",
            "float32",
        )
        assert model["weights_digest"]["value"] == tiny_model.identity.weights_digest
        assert model["pipeline"] == "ZImagePipeline"
        assert model["scheduler"] == "FlowMatchEulerDiscreteScheduler"
        call = info["call"]
        assert call["guidance_scale"] == 0 and call["max_sequence_length"] == 512
        assert call["generator"] == {"device": "cpu", "seeds": [item.seed]}
        assert info["model"]["config_fingerprint"] == tiny_model.identity.config_fingerprint
        assert info["model"]["test_model"] is True and "noise" in info["model"]["note"]
        assert info["options"] == {"attention_backend": "native", "compiled": False}
        assert set(info["model"]["components"]) == {
            "scheduler",
            "text_encoder",
            "tokenizer",
            "transformer",
            "vae",
        }
        system = record["system"]
        assert system["device"] == "cpu" and system["torch_version"] and system["diffusers_version"]
        assert record["performance"]["generation_time"] > 0
        assert record["performance"]["memory_usage_mb"] > 100  # process peak RSS on CPU
        assert any("test model" in w for w in record["warnings"])
        row = catalog.get(item.result.record_id)
        assert row is not None and row.state == "complete" and row.seed == item.seed
    assert (
        made[0].result.record["content"]["pixel_digest"]
        != made[1].result.record["content"]["pixel_digest"]
    )


def test_batch_make_up_is_recorded_and_reproduced_exactly(
    tiny_model: Any, key: SigningKey, tmp_path: Path
) -> None:
    request = checked(seed=40, num_images=3, batch_size=3)
    made = list(produce(tiny_model, request, key, tmp_path))
    for index, item in enumerate(made):
        batch = item.result.record["generation"]["batch"]
        assert batch == {"index": index, "size": 3, "seeds": [40, 41, 42]}
        assert item.result.record["extensions"][EXTENSION_KEY]["call"]["num_images_per_prompt"] == 3
    middle = made[1].result
    again = reproduce_record(middle.record, open_image(middle.path), tiny_model)
    assert again.outcome == "identical", again.to_dict()


def test_reproduce_reports_differences_with_their_size(
    tiny_model: Any, key: SigningKey, tmp_path: Path
) -> None:
    from generator.engine import load_model
    from generator.presets import ModelSource, resolve_model

    (item,) = produce(tiny_model, checked(seed=5), key, tmp_path)
    same = reproduce_record(item.result.record, open_image(item.result.path), tiny_model)
    assert (same.outcome, same.max_abs_diff, same.psnr_db, same.differences) == (
        "identical",
        0,
        None,
        [],
    )
    tiny = resolve_model("tiny-z-image")
    other = load_model(
        ModelSource(tiny.name, tiny.preset, "builtin", None, None, init_seed=1), device="cpu"
    )
    changed = reproduce_record(item.result.record, open_image(item.result.path), other)
    assert changed.outcome == "differs"
    assert changed.max_abs_diff > 0 and changed.psnr_db is not None and changed.psnr_db < 60
    assert [d["field"] for d in changed.differences] == ["model.weights_digest"]


def test_edits_record_their_parent_and_input_digests(
    tiny_model: Any, key: SigningKey, policy: KeyRingPolicy, catalog: Catalog, tmp_path: Path
) -> None:
    def parent_of(path: Path, digest: str) -> str | None:
        report = verify(path, policy=policy)
        if report.record and report.record["content"]["pixel_digest"]["value"] == digest:
            return str(report.record["record_id"])
        return None

    (first,) = produce(tiny_model, checked(seed=1), key, tmp_path, catalog=catalog)
    img2img = checked("一只黑猫", seed=2, image=first.result.path, parent_lookup=parent_of)
    (second,) = produce(tiny_model, img2img, key, tmp_path, catalog=catalog)
    mask = tmp_path / "mask.png"
    shape = Image.new("L", (SIZE, SIZE), 0)
    shape.paste(255, (16, 16, 48, 48))
    shape.save(mask)
    inpaint = checked("窗台", seed=3, image=second.result.path, mask=mask, parent_lookup=parent_of)
    (third,) = produce(tiny_model, inpaint, key, tmp_path, catalog=catalog)

    task2, task3 = second.result.record["task"], third.result.record["task"]
    assert task2["type"] == "image-to-image" and task2["parent_record_id"] == first.result.record_id
    assert task2["input_digest"]["value"] == first.result.record["content"]["pixel_digest"]["value"]
    assert task2["mask_digest"] is None and second.result.record["generation"]["strength"] == 0.6
    assert task3["type"] == "inpaint" and task3["parent_record_id"] == second.result.record_id
    assert task3["mask_digest"]["value"] == pixel_digest(Image.open(mask).convert("L"))
    assert third.result.record["generation"]["strength"] == 1.0

    chain = lineage(catalog, third.result.record_id)
    assert [s.record_id for s in chain] == [
        third.result.record_id,
        second.result.record_id,
        first.result.record_id,
    ]
    assert [s.task for s in chain] == ["inpaint", "image-to-image", "text-to-image"]
    assert chain[0].file_path == str(third.result.path.resolve())

    # an input with no record of ours (or altered pixels) has no parent, only its digest
    plain = tmp_path / "plain.png"
    Image.open(first.result.path).convert("RGB").save(plain)
    orphan = checked("猫", seed=4, image=plain, parent_lookup=parent_of)
    assert orphan.edit is not None and orphan.edit.parent_record_id is None

    from generator.reproduce import edit_input_for

    edit = edit_input_for(third.result.record, second.result.path, mask)
    again = reproduce_record(
        third.result.record, open_image(third.result.path), tiny_model, edit=edit
    )
    assert again.outcome == "identical"


def test_lineage_stops_at_a_parent_missing_from_the_catalog(catalog: Catalog) -> None:
    record = {
        "record_id": "01a1fde5-2daf-7ea3-b1b7-be7138907ed8",
        "task": {
            "type": "image-to-image",
            "parent_record_id": "01a1fde5-0000-7000-8000-000000000000",
            "input_digest": None,
        },
        "generation": {"prompt": "猫"},
        "created_at": "2026-11-21T00:00:00Z",
    }
    chain = lineage(catalog, record["record_id"], record)
    assert [(s.record_id, s.found) for s in chain] == [
        ("01a1fde5-2daf-7ea3-b1b7-be7138907ed8", True),
        ("01a1fde5-0000-7000-8000-000000000000", False),
    ]


def test_interpolation_ends_are_the_seeds_own_images(tiny_model: Any) -> None:
    request = checked(seed=21)
    frames = [Frame(seed=21, seed_b=22, t=t) for t in (0.0, 0.5, 1.0)]
    images = [pixel_digest(out.image) for out in run(tiny_model, request, frames=frames)]
    plain = {
        seed: pixel_digest(next(run(tiny_model, checked(seed=seed))).image) for seed in (21, 22)
    }
    assert images[0] == plain[21] and images[2] == plain[22]
    assert images[1] not in plain.values()


def test_interpolated_frames_are_recorded_and_reproduce(
    tiny_model: Any, key: SigningKey, tmp_path: Path
) -> None:
    frames = [
        Frame(seed=3, seed_b=9, t=t, extension={"kind": "interpolate", "index": i, "t": t})
        for i, t in enumerate((0.0, 0.5, 1.0))
    ]
    made = list(produce(tiny_model, checked(seed=3), key, tmp_path, frames=frames))
    assert [m.result.record["generation"]["seed"] for m in made] == [3, None, 9]
    # the ends are their seeds' own images, recorded as plain generations of those seeds
    end = made[2].result.record
    assert end["generation"]["batch"]["seeds"] == [9]
    assert end["extensions"][EXTENSION_KEY]["call"]["latents"] is None
    middle = made[1].result.record
    info = middle["extensions"][EXTENSION_KEY]
    assert info["call"]["latents"] == {"slerp": {"seed_a": 3, "seed_b": 9, "t": 0.5}}
    assert info["run"] == {"kind": "interpolate", "index": 1, "t": 0.5}
    again = reproduce_record(middle, open_image(made[1].result.path), tiny_model)
    assert again.outcome == "identical"


def test_stopping_keeps_finished_images_and_writes_nothing_half_done(
    tiny_model: Any, key: SigningKey, catalog: Catalog, tmp_path: Path
) -> None:
    stop = StopFlag()
    images_started = []

    def on_step(done: int, total: int) -> None:
        if done == 1:
            images_started.append(1)
        if len(images_started) == 2 and done == 2:  # Ctrl-C during the second image
            stop.set()

    out = tmp_path / "out"
    made: list[Any] = []
    stream = produce(
        tiny_model,
        checked(seed=1, num_images=3),
        key,
        out,
        catalog=catalog,
        on_step=on_step,
        stop=stop,
    )
    with pytest.raises(GenerationCancelled, match=r"stopped after 1 of 3 images"):
        made.extend(stream)
    assert len(made) == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [made[0].result.path.name, made[0].result.path.with_suffix(".json").name]
    )
    assert catalog.count() == 1 and catalog.pending() == []


def test_record_json_is_what_the_sidecar_holds(
    tiny_model: Any, key: SigningKey, tmp_path: Path
) -> None:
    (item,) = produce(tiny_model, checked(seed=8), key, tmp_path)
    side = json.loads(item.result.sidecar.read_text("utf-8"))  # type: ignore[union-attr]
    side.pop("envelope")
    assert side == item.result.record


def test_a_malformed_or_excessive_record_is_refused_before_running(
    tiny_model: Any, key: SigningKey, tmp_path: Path
) -> None:
    import copy

    from generator.errors import GenerationError, GenerationRequestError

    (item,) = produce(tiny_model, checked(seed=6), key, tmp_path)
    image = open_image(item.result.path)

    def altered(change: Any) -> dict[str, Any]:
        record = copy.deepcopy(item.result.record)
        change(record["extensions"][EXTENSION_KEY]["call"], record["generation"])
        return record

    cases = [
        (
            lambda c, g: c.update(width="wide"),
            GenerationError,
            r"malformed \(TypeError: width is 'wide', not an integer\)",
        ),
        (lambda c, g: c.update(width=64.9), GenerationError, r"width is 64.9, not an integer"),
        (lambda c, g: c.update(prompt=12345), GenerationError, r"prompt is 12345, not text"),
        (lambda c, g: c.update(strength="0.5"), GenerationError, r"strength is '0.5', not a"),
        (
            lambda c, g: c.update(latents={"slerp": {"seed_a": 1, "seed_b": 2, "t": 1e308}}),
            GenerationError,
            r"interpolation position t is 1e\+308, outside \[0, 1\]",
        ),
        (
            lambda c, g: c.update(prompt="a\x01b"),
            GenerationError,
            r"the prompt holds the control character U\+0001",
        ),
        (lambda c, g: c.pop("prompt"), GenerationError, r"malformed \(KeyError: 'prompt'\)"),
        (
            lambda c, g: c.update(width=100000),
            GenerationRequestError,
            r"refused: width must be between 16 and 4096, not 100000",
        ),
        (
            lambda c, g: c.update(num_inference_steps=10**9),
            GenerationRequestError,
            r"refused: steps must be between 1 and 1000",
        ),
        (
            lambda c, g: g["batch"].update(seeds=list(range(500))),
            GenerationError,
            r"a batch of 500 with index 0",
        ),
        (lambda c, g: g["batch"].update(index=3), GenerationError, r"a batch of 1 with index 3"),
    ]
    for change, error, message in cases:
        with pytest.raises(error, match=message):
            reproduce_record(altered(change), image, tiny_model)


def test_reproducing_a_tampered_file_says_it_differs(
    tiny_model: Any, key: SigningKey, tmp_path: Path
) -> None:
    (item,) = produce(tiny_model, checked(seed=12), key, tmp_path)
    pixels = open_image(item.result.path)
    pixels.putpixel((0, 0), (0, 0, 0))
    again = reproduce_record(item.result.record, pixels, tiny_model)
    assert again.outcome == "differs"
    assert again.reproduced_pixel_digest == again.recorded_pixel_digest  # the record reproduces
    assert again.differences[0]["field"] == "file.pixels"
    assert again.max_abs_diff > 0 and again.psnr_db is not None


def test_lineage_refuses_a_parent_whose_pixels_are_not_the_input(
    tiny_model: Any, key: SigningKey, catalog: Catalog, tmp_path: Path
) -> None:
    """A forged parent id (anyone can sign a record naming any id) is caught at the link."""
    (real,) = produce(tiny_model, checked(seed=1), key, tmp_path, catalog=catalog)
    (other,) = produce(tiny_model, checked(seed=2), key, tmp_path, catalog=catalog)
    forged = checked(
        "猫",
        seed=3,
        image=other.result.path,
        parent_lookup=lambda path, digest: real.result.record_id,  # names the wrong parent
    )
    (child,) = produce(tiny_model, forged, key, tmp_path, catalog=catalog)
    chain = lineage(catalog, child.result.record_id)
    assert [s.record_id for s in chain] == [child.result.record_id, real.result.record_id]
    assert chain[0].note is None
    assert chain[1].note is not None and "pixels differ from the input digest" in chain[1].note


def test_prompts_are_checked_for_what_png_text_and_xmp_can_carry() -> None:
    from generator.errors import GenerationRequestError

    assert checked("a\r\nb").prompt == "a\nb"  # Windows line ends become line feeds
    for text, message in (
        ("a\x01b", r"the prompt holds the control character U\+0001"),
        ("a\x1b[31m", r"control character U\+001B"),
        ("a\udc85b", r"the prompt is not valid text: it holds an undecodable byte"),
        ("x" * 100_001, r"the prompt is 100001 characters long; at most 100000"),
    ):
        with pytest.raises(GenerationRequestError, match=message):
            checked(text)
    with pytest.raises(GenerationRequestError, match=r"the negative prompt holds the control"):
        checked("猫", negative_prompt="\x0c")


def test_long_prompts_are_warned_about(tiny_model: Any, key: SigningKey, tmp_path: Path) -> None:
    (item,) = produce(tiny_model, checked("猫 " * 400, max_sequence_length=64), key, tmp_path)
    assert any(
        "the text encoder reads only the first 64" in w for w in item.result.record["warnings"]
    )
