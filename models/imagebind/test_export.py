"""Tests the ImageBind exporter on a tiny random model with ImageBind's interface (no checkpoint).

    /usr/bin/python3 -m unittest discover -s models/imagebind -p 'test_*.py'

The same ``export_pack`` that export.py runs on imagebind_huge exports all six modalities of
``tiny_model.TinyImageBind``, as fp32 (vision forced to external data) and fp16 packs. This checks
the graphs' interface and the manifests. Python here has no onnxruntime, so the numbers are
checked from TypeScript: with ``BINDERY_EXPORT_OUT=<dir>`` the packs and PyTorch reference
inputs/outputs are left in ``<dir>`` for tests/exporter/exporter.test.ts to run through Bindery's
own runtime.

Layout of ``<dir>``: ``fp32/`` and ``fp16/`` (packs), ``reference/cases.json`` and, per case,
``<name>.input.bin`` / ``<name>.output.bin`` (raw little-endian; int64 for text, float32 else).
"""

import contextlib
import io
import json
import os
import shutil
import tempfile
import unittest

import numpy as np
import onnx
import torch
from onnx import TensorProto

from export import export_pack, imagebind_info, parse_args
from onnx_io import sha256_file
from tiny_model import build_tiny_model
from wrappers import INPUT_SPECS, MODALITIES, EncoderWrapper, example_input, logit_scale

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = os.path.join(HERE, "..", "test-pack", "bpe_simple_vocab_16e6.txt.gz")
SEED = 1234
TEST_INFO = {
    "id": "imagebind-tiny-test",
    "name": "Tiny ImageBind-shaped exporter fixture (random weights)",
    "version": "0.0.0",
    "description": "Made by models/imagebind/test_export.py; results carry no meaning.",
    "licence": {"name": "MIT"},
    "testPack": True,
}
ELEM = {"float32": TensorProto.FLOAT, "int64": TensorProto.INT64}


def reference_cases():
    """(name, modality, input): every graph at N=3 and S=3 (not the traced 2/2, so the dynamic
    axes are exercised), plus the shapes Bindery's preprocessing emits for a still image and a
    single audio clip, which ImageBind's forward takes without a clip axis."""
    cases = [(m, m, example_input(m, n=3, s=3, seed=SEED + i)) for i, m in enumerate(MODALITIES)]
    gen = torch.Generator().manual_seed(SEED)
    cases.append(("vision-image", "vision", torch.randn(3, 3, 224, 224, generator=gen)))
    cases.append(("audio-clip", "audio", torch.randn(3, 1, 128, 204, generator=gen)))
    return cases


def write_raw(tensor: torch.Tensor, path: str) -> None:
    dtype = "<i8" if tensor.dtype == torch.int64 else "<f4"
    tensor.detach().numpy().astype(dtype).tofile(path)


def write_reference(model, out_dir: str) -> None:
    """PyTorch inputs/outputs of the model's own forward (not the export wrapper)."""
    os.makedirs(out_dir, exist_ok=True)
    entries = []
    with torch.no_grad():
        for name, modality, x in reference_cases():
            y = model({modality: x})[modality]
            write_raw(x, os.path.join(out_dir, f"{name}.input.bin"))
            write_raw(y, os.path.join(out_dir, f"{name}.output.bin"))
            entries.append(
                {
                    "name": name,
                    "modality": modality,
                    "input": {
                        "file": f"{name}.input.bin",
                        "dtype": "int64" if x.dtype == torch.int64 else "float32",
                        "dims": list(x.shape),
                    },
                    "output": {"file": f"{name}.output.bin", "dims": list(y.shape)},
                }
            )
    with open(os.path.join(out_dir, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"packs": {"fp32": "fp32", "fp16": "fp16"}, "cases": entries}, f, indent=2)


def dims_of(value: onnx.ValueInfoProto):
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


class ExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keep = os.environ.get("BINDERY_EXPORT_OUT")
        cls.out = cls.keep or tempfile.mkdtemp(prefix="bindery-export-")
        cls.model = build_tiny_model(SEED)
        quiet = lambda *_: None  # noqa: E731
        cls.packs = {
            "fp32": export_pack(
                cls.model,
                os.path.join(cls.out, "fp32"),
                TEST_INFO,
                vocab=VOCAB,
                force_external=["vision"],
                log=quiet,
            ),
            "fp16": export_pack(
                cls.model,
                os.path.join(cls.out, "fp16"),
                {**TEST_INFO, "id": TEST_INFO["id"] + "-fp16"},
                fp16=True,
                vocab=VOCAB,
                log=quiet,
            ),
        }
        write_reference(cls.model, os.path.join(cls.out, "reference"))

    @classmethod
    def tearDownClass(cls):
        if not cls.keep:
            shutil.rmtree(cls.out, ignore_errors=True)

    def graph(self, precision: str, modality: str) -> onnx.ModelProto:
        return onnx.load(os.path.join(self.out, precision, f"{modality}.onnx"), load_external_data=False)

    def test_wrapper_equals_the_models_forward(self):
        with torch.no_grad():
            for m in MODALITIES:
                x = example_input(m, n=3, s=3, seed=7)
                torch.testing.assert_close(
                    EncoderWrapper(self.model, m)(x), self.model({m: x})[m], rtol=0, atol=0
                )

    def test_graph_interface(self):
        for precision in ("fp32", "fp16"):
            for m in MODALITIES:
                with self.subTest(precision=precision, modality=m):
                    path = os.path.join(self.out, precision, f"{m}.onnx")
                    onnx.checker.check_model(path, full_check=True)
                    g = self.graph(precision, m).graph
                    dtype, shape = INPUT_SPECS[m]
                    self.assertEqual([i.name for i in g.input], [m])
                    self.assertEqual(g.input[0].type.tensor_type.elem_type, ELEM[dtype])
                    self.assertEqual(dims_of(g.input[0]), shape)
                    self.assertEqual([o.name for o in g.output], ["embedding"])
                    self.assertEqual(g.output[0].type.tensor_type.elem_type, TensorProto.FLOAT)
                    self.assertEqual(dims_of(g.output[0]), ["N", 1024])
                    self.assertEqual(
                        [o.version for o in self.graph(precision, m).opset_import if not o.domain], [17]
                    )

    def test_forced_external_data_is_one_side_file(self):
        vision = self.packs["fp32"]["encoders"]["vision"]
        self.assertEqual([f["file"] for f in vision["externalData"]], ["vision.onnx.data"])
        for init in self.graph("fp32", "vision").graph.initializer:
            self.assertEqual(init.data_location, TensorProto.EXTERNAL, init.name)
            self.assertEqual({e.key: e.value for e in init.external_data}["location"], "vision.onnx.data")
        for m in MODALITIES[1:]:
            self.assertEqual(self.packs["fp32"]["encoders"][m]["externalData"], [], m)
        self.assertEqual(self.packs["fp16"]["encoders"]["vision"]["externalData"], [])

    def test_fp16_weights_with_float32_interface(self):
        for m in MODALITIES:
            inits = self.graph("fp16", m).graph.initializer
            self.assertNotIn(TensorProto.FLOAT, {t.data_type for t in inits}, m)
            self.assertIn(TensorProto.FLOAT16, {t.data_type for t in inits}, m)
        size = {p: sum(e["onnx"]["bytes"] for e in self.packs[p]["encoders"].values()) for p in self.packs}
        size["fp32"] += self.packs["fp32"]["encoders"]["vision"]["externalData"][0]["bytes"]
        self.assertLess(size["fp16"], 0.6 * size["fp32"])

    def test_manifest_matches_files(self):
        for precision, manifest in self.packs.items():
            root = os.path.join(self.out, precision)
            with open(os.path.join(root, "pack.json"), encoding="utf-8") as f:
                self.assertEqual(json.load(f), manifest)
            files = [manifest["tokenizer"]] + [
                entry for e in manifest["encoders"].values() for entry in [e["onnx"], *e["externalData"]]
            ]
            for entry in files:
                path = os.path.join(root, entry["file"])
                self.assertEqual(os.path.getsize(path), entry["bytes"], entry["file"])
                self.assertEqual(sha256_file(path), entry["sha256"], entry["file"])
            self.assertEqual(list(manifest["encoders"]), list(MODALITIES))
            scales = {m: e["logitScale"] for m, e in manifest["encoders"].items()}
            self.assertAlmostEqual(scales.pop("text"), 1 / 0.07, places=4)
            self.assertEqual(
                scales, {"vision": 1.0, "audio": 20.0, "depth": 5.0, "thermal": 10.0, "imu": 5.0}
            )

    def test_text_logit_scale_is_read_from_the_weights(self):
        model = build_tiny_model(SEED)
        scaling = model.modality_postprocessors["text"][1]
        with torch.no_grad():
            scaling.log_logit_scale.fill_(np.log(42.0))
            self.assertAlmostEqual(logit_scale(model, "text"), 42.0, places=4)
            scaling.log_logit_scale.fill_(np.log(500.0))  # ImageBind clips the scale at 100
            self.assertEqual(logit_scale(model, "text"), 100.0)

    def test_reference_files(self):
        with open(os.path.join(self.out, "reference", "cases.json"), encoding="utf-8") as f:
            cases = json.load(f)["cases"]
        self.assertEqual(len(cases), len(MODALITIES) + 2)
        for case in cases:
            for part, itemsize in (("input", 8 if case["input"]["dtype"] == "int64" else 4), ("output", 4)):
                size = os.path.getsize(os.path.join(self.out, "reference", case[part]["file"]))
                self.assertEqual(size, int(np.prod(case[part]["dims"])) * itemsize, case["name"])

    def test_imagebind_pack_identity(self):
        self.assertEqual(imagebind_info(False, "0" * 64)["id"], "imagebind-huge")
        info = imagebind_info(True, "0" * 64)
        self.assertEqual(info["id"], "imagebind-huge-fp16")
        self.assertEqual(info["licence"]["name"], "CC-BY-NC-4.0")
        self.assertFalse(info["testPack"])

    def test_cli_rejects_unknown_modalities(self):
        args = parse_args(["--checkpoint", "x.pth", "--out", "o", "--modalities", "text, vision"])
        self.assertEqual(args.modalities, ["text", "vision"])
        with self.assertRaises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
            parse_args(["--checkpoint", "x.pth", "--out", "o", "--modalities", "video"])


if __name__ == "__main__":
    unittest.main()
