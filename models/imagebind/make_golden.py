#!/usr/bin/env python3
"""Golden fixtures for Bindery's checkpoint converter, made once with the official ImageBind code.

    /usr/bin/python3 models/imagebind/make_golden.py --imagebind ~/src/ImageBind \\
        --shared ../shared --out tests/fixtures/imagebind-golden [--seed 7] [--size small|huge]

It builds ``imagebind_model.ImageBindModel`` from an ImageBind checkout (imported through
official.py's stand-ins for its optional dependencies) at a small width, with imagebind_huge's head
counts and one or two blocks per tower, perturbs every parameter and buffer (so that a converter
which dropped or swapped any of them would be caught), saves the state dict with ``torch.save`` and
runs the model in eval mode on fixed inputs of every modality:

  - vision: ImageBind's own preprocessing of dog_image.jpg (shared/oracles), and a 2-clip video
    input given by a formula;
  - text: token ids ImageBind's tokenizer produced (shared/oracles/clip_tokenizer_cases.json);
  - audio: ImageBind's own preprocessing of dog_audio.wav (3 clips);
  - depth, thermal, IMU: inputs given by a formula (``formula_input``), which the tests recompute.

Only data is written (the checkpoint, outputs and ``golden.json``); no ImageBind code. The tests in
tests/convert/ convert the checkpoint with Bindery's TypeScript converter and compare.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from official import load_imagebind_model  # noqa: E402

# Small widths (each divisible by imagebind_huge's head count) and depths; different per tower
# so that a converter mixing up towers fails.
SMALL = dict(
    out_embed_dim=20,
    vision_embed_dim=48, vision_num_blocks=2, vision_num_heads=16,
    text_embed_dim=32, text_num_blocks=2, text_num_heads=16,
    audio_embed_dim=36, audio_num_blocks=1, audio_num_heads=12,
    depth_embed_dim=24, depth_num_blocks=1, depth_num_heads=8,
    thermal_embed_dim=24, thermal_num_blocks=2, thermal_num_heads=12,
    imu_embed_dim=40, imu_num_blocks=1, imu_num_heads=8,
)
TEXT_CASES = ["A dog.", "A car", "A bird"]


def formula_input(shape, salt):
    """x[i] = ((i * 7919 + salt * 104729) mod 1000) / 500 - 1 as float32: exact in JS too."""
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.int64)
    values = ((i * 7919 + salt * 104729) % 1000).astype(np.float64) / 500.0 - 1.0
    return torch.from_numpy(values.astype(np.float32).reshape(shape))


def perturb(model, seed):
    """Moves every parameter and buffer off its init (LayerNorm 1/0, zero biases, exact logit
    scales), keeping the causal text mask, so each of them changes the output."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            if name.endswith("text.mask"):
                continue
            noise = torch.randn(t.shape, generator=gen)
            if name.endswith("log_logit_scale"):
                t.add_(0.1 * noise)
            elif t.ndim <= 1:
                t.add_(0.2 * noise)
            else:
                t.add_(0.05 * noise)


def read_f32(path, shape):
    return torch.from_numpy(np.fromfile(path, dtype="<f4").reshape(shape))


def inputs(shared):
    oracles = os.path.join(shared, "oracles")
    tok = json.load(open(os.path.join(oracles, "clip_tokenizer_cases.json")))
    ids = [c["ids"] for c in tok["cases"] if c["text"] in TEXT_CASES]
    image = read_f32(os.path.join(oracles, "imagebind-preprocess", "dog_image.jpg.f32"), (1, 3, 224, 224))
    audio = read_f32(os.path.join(oracles, "imagebind-preprocess", "dog_audio.wav.f32"), (1, 3, 1, 128, 204))
    cases = [
        ("vision_dog", "vision", image, {"oracle": "imagebind-preprocess/dog_image.jpg.f32"}),
        ("vision_video", "vision", formula_input((1, 2, 3, 2, 224, 224), 1), {"formula": 1}),
        ("text", "text", torch.tensor(ids, dtype=torch.long), {"ids": ids, "texts": TEXT_CASES}),
        ("audio_dog", "audio", audio, {"oracle": "imagebind-preprocess/dog_audio.wav.f32"}),
        ("depth", "depth", formula_input((2, 1, 224, 224), 2), {"formula": 2}),
        ("thermal", "thermal", formula_input((2, 1, 224, 224), 3), {"formula": 3}),
        ("imu", "imu", formula_input((2, 6, 2000), 4), {"formula": 4}),
    ]
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--imagebind", required=True, help="an ImageBind checkout")
    ap.add_argument("--shared", required=True, help="the shared ground-truth folder (oracles)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--size", choices=["small", "huge"], default="small",
                    help="huge: imagebind_huge() at random init (4.5 GB checkpoint; for the full-size check)")
    args = ap.parse_args()

    ib = load_imagebind_model(args.imagebind)
    torch.manual_seed(args.seed)
    if args.size == "huge":
        model = ib.imagebind_huge(pretrained=False)
    else:
        model = ib.ImageBindModel(**SMALL)
        perturb(model, args.seed + 1)
    model.eval()
    os.makedirs(args.out, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(args.out, "checkpoint.pth"))

    manifest = {"source": "official ImageBind code (imagebind_model.ImageBindModel), torch " + torch.__version__,
                "dims": SMALL if args.size == "small" else "imagebind_huge", "seed": args.seed, "cases": []}
    with torch.no_grad():
        for name, modality, x, origin in inputs(args.shared):
            y = model({modality: x})[modality].float().numpy()
            y.astype("<f4").tofile(os.path.join(args.out, f"{name}.out.f32"))
            manifest["cases"].append({"name": name, "modality": modality, "shape": list(x.shape),
                                      "input": origin, "output": {"file": f"{name}.out.f32", "shape": list(y.shape)}})
    with open(os.path.join(args.out, "golden.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
