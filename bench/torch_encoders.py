"""PyTorch's side of `npm run bench`'s encoders section: the official ImageBind model on the CPU.

    python3 bench/torch_encoders.py --imagebind /path/to/ImageBind --checkpoint imagebind_huge.pth \
        --batches 1,8 --modalities vision,audio,text --threads 2

Prints one JSON object: {"torch": version, "threads": n, "results": [{modality, batch, itemsPerSec,
seconds, runs}]}. Inputs are random tensors of the shapes Bindery feeds its graphs (one image,
one 2 s audio clip, 77 text tokens per item), so both sides do the same arithmetic. The model code
is imported from the caller's ImageBind checkout through models/imagebind/official.py.
"""

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "imagebind"))
from official import load_imagebind_model  # noqa: E402


def inputs(modality, batch, gen):
    if modality == "vision":
        return torch.randn(batch, 3, 224, 224, generator=gen)
    if modality == "audio":
        return torch.randn(batch, 1, 128, 204, generator=gen)
    if modality == "text":
        tokens = torch.randint(1, 49406, (batch, 77), generator=gen)
        tokens[:, -1] = 49407  # end of text: the pooled position
        return tokens
    raise SystemExit(f"unknown modality {modality}")


def measure(model, modality, batch, min_seconds, gen):
    x = inputs(modality, batch, gen)
    with torch.inference_mode():
        model({modality: x})  # warm-up: allocations, first-run paths
        runs, start = 0, time.perf_counter()
        while runs < 2 or time.perf_counter() - start < min_seconds:
            model({modality: x})
            runs += 1
        seconds = time.perf_counter() - start
    return {"modality": modality, "batch": batch, "runs": runs, "seconds": round(seconds, 3),
            "itemsPerSec": round(batch * runs / seconds, 3)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imagebind", required=True, help="a checkout of github.com/facebookresearch/ImageBind")
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--modalities", default="vision,audio,text")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--min-seconds", type=float, default=5.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ib = load_imagebind_model(args.imagebind)
    model = ib.imagebind_huge(pretrained=False)
    model.load_state_dict(torch.load(args.checkpoint, map_location="cpu"))
    model.eval()
    gen = torch.Generator().manual_seed(0)
    results = [measure(model, m, int(b), args.min_seconds, gen)
               for m in args.modalities.split(",") for b in args.batches.split(",")]
    print(json.dumps({"torch": torch.__version__, "threads": args.threads, "results": results}))


if __name__ == "__main__":
    main()
