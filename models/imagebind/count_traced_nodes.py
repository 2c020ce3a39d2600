#!/usr/bin/env python3
"""Node counts: the traced export (export.py) against Bindery's converted graphs.

    /usr/bin/python3 models/imagebind/count_traced_nodes.py --imagebind ~/src/ImageBind [--pack DIR]...

A traced graph's node count depends on the model's depth, not its width, so the traced side
exports an ImageBindModel with imagebind_huge's depths and heads at small widths (out 1024, as
export.py requires) in fp32 and fp16. Each ``--pack`` folder (e.g. a converted imagebind_huge) is
counted beside it. Prints one JSON object: {graph: {modality: {"nodes", "shape", "ops"}}},
with each graph's op histogram and its number of Shape nodes.
"""

import argparse
import collections
import json
import os
import sys
import tempfile

import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import export_encoder  # noqa: E402
from official import load_imagebind_model  # noqa: E402
from wrappers import MODALITIES  # noqa: E402

HUGE_DEPTHS_SMALL_WIDTHS = dict(
    out_embed_dim=1024,
    vision_embed_dim=64, vision_num_blocks=32, vision_num_heads=16,
    text_embed_dim=64, text_num_blocks=24, text_num_heads=16,
    audio_embed_dim=48, audio_num_blocks=12, audio_num_heads=12,
    depth_embed_dim=32, depth_num_blocks=12, depth_num_heads=8,
    thermal_embed_dim=48, thermal_num_blocks=12, thermal_num_heads=12,
    imu_embed_dim=32, imu_num_blocks=6, imu_num_heads=8,
)



def count(path):
    g = onnx.load(path, load_external_data=False).graph
    ops = collections.Counter(n.op_type for n in g.node)
    return {"nodes": len(g.node), "shape": ops["Shape"], "ops": dict(sorted(ops.items()))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imagebind", required=True)
    ap.add_argument("--pack", action="append", default=[])
    args = ap.parse_args()
    ib = load_imagebind_model(args.imagebind)
    torch.manual_seed(0)
    model = ib.ImageBindModel(**HUGE_DEPTHS_SMALL_WIDTHS).eval()
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fp16 in (False, True):
            name = "traced-" + ("fp16" if fp16 else "fp32")
            report[name] = {}
            for m in MODALITIES:
                path = os.path.join(tmp, f"{name}-{m}.onnx")
                export_encoder(model, m, path, fp16=fp16, external=False)
                report[name][m] = count(path)
    for pack in args.pack:
        report[pack] = {m: count(os.path.join(pack, f"{m}.onnx")) for m in MODALITIES
                        if os.path.exists(os.path.join(pack, f"{m}.onnx"))}
    json.dump(report, sys.stdout)
    print()


if __name__ == "__main__":
    main()
