#!/usr/bin/env bash
# The main job on the built-in default: create a signing key (first run only), generate one image
# with the default model (a test model: real Z-Image classes, random weights, the picture is
# noise), sign and catalogue it, and verify it. Keys and catalog go to ./out/home, the image to
# ./out, so the demo never touches your own key ring.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/aigc-prov --home out/home demo --out out
