#!/usr/bin/env bash
# Prepares .gpu/ (git-ignored) for the GPU vision benchmark, on this machine:
#   bash bench/gpu/make-bundle.sh <ImageBind checkout>
# then, on a lent GPU machine: carry [".gpu"], command: bash .gpu/on-device.sh bash .gpu/device-run.sh
# The shared bundle brings Node, onnxruntime-node and the Vulkan loader; this adds the benchmark
# (bundled with esbuild), official.py and the ImageBind model code copied from the checkout.
set -euo pipefail
checkout=$(cd "${1:?usage: make-bundle.sh <ImageBind checkout>}" && pwd)
root=$(git rev-parse --show-toplevel); cd "$root"
shared=${BINDERY_SHARED:-$root/../shared}
bash "$shared/gpu/make-bundle.sh"
for b in webgpu-vision webgpu-matmul; do
  npx esbuild "bench/gpu/$b.ts" --bundle --platform=node --format=cjs \
    --external:onnxruntime-node --outfile=".gpu/$b.cjs" --log-level=warning
done
# Bindery's runtime runs as ESM (the probe resolves onnxruntime-node from import.meta.url).
for b in webgpu-runtime webgpu-pack; do
  npx esbuild "bench/gpu/$b.ts" --bundle --platform=node --format=esm \
    --external:onnxruntime-node --outfile=".gpu/$b.mjs" --log-level=warning \
    --banner:js="import { createRequire as bannerRequire } from 'node:module'; const require = bannerRequire(import.meta.url);"
done
rm -rf .gpu/test-pack && cp -r models/test-pack .gpu/test-pack
cp bench/gpu/torch_vision.py bench/gpu/device-run.sh models/imagebind/official.py .gpu/
mkdir -p .gpu/ImageBind/imagebind/models
cp "$checkout"/imagebind/*.py .gpu/ImageBind/imagebind/
cp "$checkout"/imagebind/models/*.py .gpu/ImageBind/imagebind/models/
du -sh .gpu
