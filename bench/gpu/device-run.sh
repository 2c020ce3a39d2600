#!/usr/bin/env bash
# On the GPU machine, through .gpu/on-device.sh: the PyTorch side, then the onnxruntime WebGPU side.
set -eu
G=$(cd "$(dirname "$0")" && pwd)
W=/tmp/w/bench; mkdir -p "$W"; OUT=${OUT:-$W}
python3 "$G/torch_vision.py" --imagebind "$G/ImageBind" --work "$W" --out "$OUT"
node "$G/webgpu-vision.cjs" "$W" "$OUT"
