#!/usr/bin/env python3
"""Checks an exported ImageBind pack against the official README's expected matrices.

    /usr/bin/python3 models/imagebind/selftest.py --pack <packdir> --assets <ImageBind clone>/.assets

Needs the pack made from the real ``imagebind_huge.pth`` (it proves semantics, so random weights
cannot pass) and is therefore not run in CI. It embeds the official dog/car/bird images and sounds
and the texts "A dog.", "A car", "A bird" with the exported graphs and asserts the three softmax
matrices printed in github.com/facebookresearch/ImageBind's README to two decimals.

* Inputs come from Bindery's own preprocessing (``bin/bindery.js preprocess``, the tensors the app
  will feed), or with ``--preprocess imagebind`` from the official ``imagebind.data`` loaders.
* Graphs run in the ``onnxruntime`` Python package when it is installed, else in Bindery's
  ``onnxruntime-node`` through a small Node script. Either way the raw graph outputs are used:
  they carry ImageBind's logit scales and clip means, which the matrices depend on.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from typing import Dict, List

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BINDERY_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TEXTS = ["A dog.", "A car", "A bird"]
SUBJECTS = ["dog", "car", "bird"]

# From the official README ("Expected output"), rows = dog, car, bird.
EXPECTED = {
    ("vision", "text"): [
        [9.9761e-01, 2.3694e-03, 1.8612e-05],
        [3.3836e-05, 9.9994e-01, 2.4118e-05],
        [4.7997e-05, 1.3496e-02, 9.8646e-01],
    ],
    ("audio", "text"): [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    ("vision", "audio"): [[0.8070, 0.1088, 0.0842], [0.1036, 0.7884, 0.1079], [0.0018, 0.0022, 0.9960]],
}

NODE_RUNNER = r"""
const { createRequire } = require('node:module');
const fs = require('node:fs');
const [root, spec] = process.argv.slice(1);
const ort = createRequire(root + '/package.json')('onnxruntime-node');
(async () => {
  const job = JSON.parse(fs.readFileSync(spec, 'utf8'));
  const session = await ort.InferenceSession.create(job.model);
  const buf = fs.readFileSync(job.input);
  const bytes = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const data = job.dtype === 'int64' ? new BigInt64Array(bytes) : new Float32Array(bytes);
  const out = (await session.run({ [job.name]: new ort.Tensor(job.dtype, data, job.dims) })).embedding;
  fs.writeFileSync(job.output, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def graph_inputs(assets: str, pack: str, how: str) -> Dict[str, np.ndarray]:
    """The three batches in the graphs' shapes.

    vision [3,1,3,2,224,224], text [3,77], audio [3,3,1,128,204] (dog, car, bird).
    """
    images = [os.path.join(assets, f"{s}_image.jpg") for s in SUBJECTS]
    sounds = [os.path.join(assets, f"{s}_audio.wav") for s in SUBJECTS]
    if how == "imagebind":
        from imagebind import data

        vision = data.load_and_transform_vision_data(images, "cpu").numpy()
        text = data.load_and_transform_text(TEXTS, "cpu").numpy()
        audio = data.load_and_transform_audio_data(sounds, "cpu").numpy()
    else:
        vision = np.stack([bindery_preprocess(pack, "image", p) for p in images])
        text = np.stack([bindery_preprocess(pack, "text", t) for t in TEXTS])
        audio = np.stack([bindery_preprocess(pack, "audio", p) for p in sounds])
    # An image is a one-view "video" whose single frame ImageBind repeats (PadIm2Video, 2 frames).
    vision = np.repeat(vision[:, None, :, None], 2, axis=3)
    return {
        "vision": vision.astype(np.float32),
        "text": text.astype(np.int64),
        "audio": audio.astype(np.float32),
    }


def bindery_preprocess(pack: str, kind: str, item: str) -> np.ndarray:
    """One input through ``bindery preprocess`` (the exact tensor Bindery feeds its encoders)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "tensor.bin")
        cmd = [
            "node",
            os.path.join(BINDERY_ROOT, "bin", "bindery.js"),
            "--pack",
            pack,
            "preprocess",
            kind,
            item,
        ]
        info = json.loads(
            subprocess.run(cmd + ["--out", out, "--json"], check=True, capture_output=True, text=True).stdout
        )
        dtype = "<i8" if info["dtype"] == "int64" else "<f4"
        return np.fromfile(out, dtype=dtype).reshape(info["shape"])


def run_graphs(pack: str, manifest: dict, inputs: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Raw [3, 1024] outputs per modality, with onnxruntime (Python) or onnxruntime-node."""
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None
    outputs = {}
    for modality, x in inputs.items():
        spec = manifest["encoders"][modality]
        model = os.path.join(pack, spec["onnx"]["file"])
        if ort is not None:
            session = ort.InferenceSession(model, providers=ort.get_available_providers())
            outputs[modality] = session.run([spec["output"]["name"]], {spec["input"]["name"]: x})[0]
        else:
            outputs[modality] = run_in_node(model, spec["input"]["name"], x)
        print(f"{modality}: {list(x.shape)} -> {list(outputs[modality].shape)}")
    return outputs


def run_in_node(model: str, name: str, x: np.ndarray) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        paths = {k: os.path.join(tmp, k) for k in ("input", "output", "job.json")}
        x.astype("<i8" if x.dtype == np.int64 else "<f4").tofile(paths["input"])
        job = {"model": model, "name": name, "input": paths["input"], "output": paths["output"]}
        job.update(dtype="int64" if x.dtype == np.int64 else "float32", dims=list(x.shape))
        with open(paths["job.json"], "w", encoding="utf-8") as f:
            json.dump(job, f)
        subprocess.run(["node", "-e", NODE_RUNNER, BINDERY_ROOT, paths["job.json"]], check=True)
        return np.fromfile(paths["output"], dtype="<f4").reshape(x.shape[0], -1)


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def compare(embeddings: Dict[str, np.ndarray]) -> List[str]:
    """Prints each matrix; returns a message per matrix that is off by 1.5e-2 or more (numpy's
    ``assert_almost_equal(decimal=2)`` criterion)."""
    failures = []
    for (a, b), expected in EXPECTED.items():
        got = softmax_rows(embeddings[a].astype(np.float64) @ embeddings[b].astype(np.float64).T)
        worst = float(np.abs(got - np.array(expected)).max())
        print(
            f"{a} x {b} (max |diff| {worst:.4f}):\n{np.array2string(got, precision=4, suppress_small=True)}"
        )
        try:
            np.testing.assert_almost_equal(got, expected, decimal=2)
        except AssertionError:
            failures.append(f"{a} x {b} differs from the README by {worst:.4f}")
    return failures


def default_assets() -> str:
    """The .assets folder of the ImageBind clone the package was installed from, if any."""
    try:
        import imagebind

        return os.path.join(os.path.dirname(os.path.dirname(imagebind.__file__)), ".assets")
    except ImportError:
        return ""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pack", required=True, help="the folder export.py wrote")
    p.add_argument("--assets", default=default_assets(), help="ImageBind's .assets folder")
    p.add_argument("--preprocess", choices=["bindery", "imagebind"], default="bindery")
    args = p.parse_args()
    if not os.path.isfile(os.path.join(args.assets or "", "dog_image.jpg")):
        sys.exit("selftest.py: ImageBind's .assets not found; pass --assets <clone>/.assets")
    pack = os.path.abspath(args.pack)
    with open(os.path.join(pack, "pack.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    failures = compare(run_graphs(pack, manifest, graph_inputs(args.assets, pack, args.preprocess)))
    for msg in failures:
        print(f"FAIL: {msg}")
    print("FAILED" if failures else f"OK: {manifest['id']} reproduces the official README")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
