#!/usr/bin/env python3
"""The PyTorch side of the GPU vision benchmark (bench/gpu/README.md), run on the GPU machine.

    python3 torch_vision.py --imagebind <ImageBind checkout> --work /tmp/w --out $OUT

Builds imagebind_huge at random init with the official model code (through official.py), saves
the vision tower's state dict for Bindery's converter (<work>/vision.pth), writes the fp32
embedding of a fixed input (<work>/ref.f32, the formula of make_golden.py, salt 1) and times the
vision tower in fp16 on the GPU at batch 1, 16 and 64 (<out>/torch.json).
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from official import load_imagebind_model  # noqa: E402

BATCHES = (1, 16, 64)


def formula_input(shape, salt):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.int64)
    values = ((i * 7919 + salt * 104729) % 1000).astype(np.float64) / 500.0 - 1.0
    return torch.from_numpy(values.astype(np.float32).reshape(shape))


def images_per_sec(model, batch, runs):
    x = torch.randn(batch, 3, 224, 224, device="cuda", dtype=torch.float16)
    with torch.no_grad():
        for _ in range(3):
            model({"vision": x})
        torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(runs):
            model({"vision": x})
        torch.cuda.synchronize()
    return batch * runs / (time.perf_counter() - started)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imagebind", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    ib = load_imagebind_model(args.imagebind)
    torch.manual_seed(0)
    started = time.perf_counter()
    model = ib.imagebind_huge(pretrained=False).eval()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    report = {"init_s": time.perf_counter() - started, "gpu": gpu}
    vision = {k: v for k, v in model.state_dict().items() if ".vision." in k}
    torch.save(vision, os.path.join(args.work, "vision.pth"))
    with torch.no_grad():
        ref = model({"vision": formula_input((1, 3, 224, 224), 1)})["vision"]
    ref.numpy().astype("<f4").tofile(os.path.join(args.work, "ref.f32"))
    if torch.cuda.is_available():  # a dry run on a machine without a GPU checks everything else
        model = model.half().cuda()
        report["torch_fp16_images_per_s"] = {b: images_per_sec(model, b, 20 if b == 1 else 10) for b in BATCHES}
    with open(os.path.join(args.out, "torch.json"), "w") as f:
        json.dump(report, f)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
