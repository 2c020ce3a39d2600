#!/usr/bin/env bash
# On the GPU machine, through .gpu/on-device.sh: Bindery's runtime with its default providers, the
# matrix-product forms, the PyTorch side, the vision tower's graph forms on onnxruntime's WebGPU
# provider, and the q8 pack through Bindery's runtime. Steps may be named: device-run.sh torch pack
set -u
G=$(cd "$(dirname "$0")" && pwd)
W=/tmp/w/bench; mkdir -p "$W"; OUT=${OUT:-$W}
ln -sfn /tmp/w/ortn/node_modules "$G/node_modules" # ESM resolves packages beside the script
steps=${*:-runtime matmul torch vision pack}
for s in $steps; do
  echo "== $s ($(date +%T))"
  case $s in
    runtime) node "$G/webgpu-runtime.mjs" "$G/test-pack" "$OUT" 2>&1 | tail -40 ;;
    matmul) node "$G/webgpu-matmul.cjs" "$OUT" 2>&1 | tail -20 ;;
    torch) python3 "$G/torch_vision.py" --imagebind "$G/ImageBind" --work "$W" --out "$OUT" || exit 1 ;;
    vision) node "$G/webgpu-vision.cjs" "$W" "$OUT" ;;
    pack) node "$G/webgpu-pack.mjs" "$W" "$OUT" ;;
  esac
done
echo "== done ($(date +%T))"
