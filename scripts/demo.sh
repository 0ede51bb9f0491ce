#!/usr/bin/env bash
# The main job on the built-in default: create a signing key (first run only), sign a demo
# image and verify it. Keys go to ./out/home/keys and the image to ./out/demo.png, so the
# demo never touches your own key ring.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/aigc-prov --home out/home demo --out out
