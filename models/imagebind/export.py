#!/usr/bin/env python3
"""Exports the official ImageBind checkpoint as a Bindery model pack (one-time, offline).

    python3 models/imagebind/export.py --checkpoint imagebind_huge.pth --out <packdir> \\
        --imagebind <ImageBind checkout> [--fp16] [--modalities vision,text,audio,depth,thermal,imu] \\
        [--opset 17] [--vocab <bpe.gz>]

It needs torch and onnx, and the official model code: an ImageBind checkout (``--imagebind``,
imported through official.py) or the installed ``imagebind`` package. Nothing is downloaded.
Bindery itself converts checkpoints without Python (``bindery models install <checkpoint>``);
this exporter is the alternative through PyTorch's tracer. The model is built with
``imagebind_huge()``, the checkpoint loaded strictly, and each modality exported to
``<packdir>/<modality>.onnx`` with the graph interface Bindery expects (wrappers.INPUT_SPECS; one
input named after the modality, output ``embedding`` [N,1024]), then ``pack.json`` is written with
sizes and sha256s, and the CLIP BPE vocabulary is copied as the tokenizer. See README.md.

The export itself (``export_pack``) takes any model with ImageBind's interface, which is how
test_export.py runs the same code on a tiny random model.
"""

import argparse
import contextlib
import inspect
import json
import os
import shutil
import sys
import tempfile
import warnings
from typing import Any, Dict, Iterable, List, Optional, Sequence

import onnx
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from onnx_io import EXTERNAL_DATA_THRESHOLD, check, save, sha256_file, to_fp16, weight_bytes  # noqa: E402
from wrappers import (  # noqa: E402
    EMBEDDING_DIM,
    INPUT_SPECS,
    MODALITIES,
    OUTPUT_NAME,
    EncoderWrapper,
    dynamic_axes,
    example_input,
    logit_scale,
)

DEFAULT_OPSET = 17
VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"

# ImageBind's own preprocessing (imagebind/data.py), written out in full so the pack documents
# itself; these equal the defaults in app/pack.ts.
PREPROCESS: Dict[str, Dict[str, Any]] = {
    "vision": {
        "size": 224,
        "mean": [0.48145466, 0.4578275, 0.40821073],
        "std": [0.26862954, 0.26130258, 0.27577711],
        "videoClipDurationS": 2,
        "videoClipsPerVideo": 5,
        "videoFramesPerClip": 2,
        "videoSpatialCrops": 3,
    },
    "text": {"contextLength": 77, "sot": 49406, "eot": 49407},
    "audio": {
        "sampleRate": 16000,
        "numMelBins": 128,
        "targetLength": 204,
        "clipDurationS": 2,
        "clipsPerVideo": 3,
        "frameLengthMs": 25,
        "frameShiftMs": 10,
        "mean": -4.268,
        "std": 9.138,
    },
    "depth": {"size": 224, "mean": 0, "std": 1},
    "thermal": {"size": 224, "mean": 0, "std": 1},
    "imu": {"samples": 2000, "rateHz": 400},
}

LICENCE = {
    "name": "CC-BY-NC-4.0",
    "url": "https://creativecommons.org/licenses/by-nc/4.0/",
    "text": (
        "ImageBind model weights (c) Meta Platforms, Inc., released under the Creative Commons "
        "Attribution-NonCommercial 4.0 International licence: non-commercial use only, with "
        "attribution. This pack was converted from the official checkpoint without changing the "
        "weights' meaning. https://github.com/facebookresearch/ImageBind"
    ),
}


def imagebind_info(fp16: bool, checkpoint_sha256: str) -> Dict[str, Any]:
    """The pack's identity and licence; the checkpoint's hash records exactly what was converted."""
    precision = "fp16" if fp16 else "fp32"
    return {
        "id": "imagebind-huge-fp16" if fp16 else "imagebind-huge",
        "name": f"ImageBind (huge, {precision})",
        "version": "1.0.0",
        "description": (
            f"Meta's ImageBind imagebind_huge: one 1024-d embedding space for images, video, text, "
            f"audio, depth, thermal and IMU. Exported to ONNX ({precision} weights"
            f"{' and compute, float32 inputs and outputs' if fp16 else ''}) by "
            f"models/imagebind/export.py from imagebind_huge.pth (sha256 {checkpoint_sha256}) "
            f"with torch {torch.__version__} and onnx {onnx.__version__}."
        ),
        "licence": LICENCE,
        "testPack": False,
    }


def _exporter_options() -> Dict[str, Any]:
    """torch >= 2.9 defaults to the dynamo exporter; these graphs are made with the TorchScript one."""
    return {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}


@contextlib.contextmanager
def nonnegative_unfold_dims():
    """Makes ``Tensor.unfold`` see a non-negative dimension while tracing.

    torch's ONNX symbolic for ``aten::unfold`` (opset 9 code, also used for opset 17 when the
    window is constant, at least up to torch 2.x) stacks the windows on the wrong axis when the
    dimension is negative: ``x.unfold(-1, 8, 8)`` on [N,6,2000] becomes [N,6,8,250] in the graph
    instead of [N,6,250,8]. ImageBind's IMU preprocessor does exactly that call; the traced
    PyTorch result is right, but onnxruntime then rejects the graph (or, with other sizes, would
    compute garbage). Normalising the dimension before the op is recorded avoids the bug.
    """
    original = torch.Tensor.unfold

    def unfold(self: torch.Tensor, dimension: int, size: int, step: int) -> torch.Tensor:
        return original(self, dimension % self.dim(), size, step)

    torch.Tensor.unfold = unfold
    try:
        yield
    finally:
        torch.Tensor.unfold = original


def export_encoder(
    model: nn.Module,
    modality: str,
    path: str,
    opset: int = DEFAULT_OPSET,
    fp16: bool = False,
    external: Optional[bool] = None,
) -> List[str]:
    """Exports one modality to ``path``; returns the external-data files written beside it.

    torch writes graphs over 2 GB as one file per tensor, so the raw export goes to a scratch
    folder (on the same disk) and is re-saved as a single graph, with at most one ``.data`` file.
    ``external`` forces (True) or forbids (False) that file; by default it is used only when the
    weights exceed EXTERNAL_DATA_THRESHOLD.
    """
    wrapper = EncoderWrapper(model, modality).eval()
    with torch.no_grad():
        probe = wrapper(example_input(modality, n=1, s=1))  # one item: cheap even for ViT-H
    if tuple(probe.shape) != (1, EMBEDDING_DIM):
        raise ValueError(
            f"{modality}: the model gives {tuple(probe.shape)} per item, not [1,{EMBEDDING_DIM}]"
        )
    out_dir = os.path.dirname(os.path.abspath(path))
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=f".{modality}-export-") as scratch:
        raw = os.path.join(scratch, f"{modality}.onnx")
        with torch.no_grad(), nonnegative_unfold_dims(), warnings.catch_warnings():
            # Shape checks in the model's Python code are evaluated once while tracing, at the
            # fixed 224/77/204/2000 sizes, and torch 1.13 notes every constant it cannot
            # shape-infer; both are expected and would bury real messages.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
            torch.onnx.export(
                wrapper,
                (example_input(modality),),
                raw,
                input_names=[modality],
                output_names=[OUTPUT_NAME],
                dynamic_axes=dynamic_axes(modality),
                opset_version=opset,
                do_constant_folding=True,
                **_exporter_options(),
            )
        graph = onnx.load(raw)
    declare_output(graph)
    if fp16:
        graph = to_fp16(graph)
    data_files = save(
        graph, path, weight_bytes(graph) > EXTERNAL_DATA_THRESHOLD if external is None else external
    )
    del graph
    check(path)
    return data_files


def declare_output(graph: onnx.ModelProto) -> None:
    """Declares the output as [N, 1024]: torch's shape inference loses the width after the
    normalisation and leaves an auto-named symbol, while the pack contract (checked above) fixes it."""
    dims = graph.graph.output[0].type.tensor_type.shape.dim
    del dims[:]
    dims.add().dim_param = "N"
    dims.add().dim_value = EMBEDDING_DIM


def _file_entry(path: str, root: str) -> Dict[str, Any]:
    return {"file": os.path.relpath(path, root), "sha256": sha256_file(path), "bytes": os.path.getsize(path)}


def encoder_entry(
    model: nn.Module, modality: str, onnx_path: str, data_files: Sequence[str], root: str
) -> Dict[str, Any]:
    """The pack.json entry for one exported encoder (see app/pack.ts EncodersSchema)."""
    dtype, shape = INPUT_SPECS[modality]
    return {
        "onnx": _file_entry(onnx_path, root),
        "externalData": [_file_entry(f, root) for f in data_files],
        "input": {"name": modality, "dtype": dtype, "shape": shape},
        "output": {"name": OUTPUT_NAME, "dtype": "float32", "shape": ["N", EMBEDDING_DIM]},
        "logitScale": logit_scale(model, modality),
        "preprocess": PREPROCESS[modality],
    }


def export_pack(
    model: nn.Module,
    out_dir: str,
    info: Dict[str, Any],
    modalities: Iterable[str] = MODALITIES,
    fp16: bool = False,
    opset: int = DEFAULT_OPSET,
    vocab: Optional[str] = None,
    force_external: Iterable[str] = (),
    log=print,
) -> Dict[str, Any]:
    """Exports the given modalities of ``model`` into ``out_dir`` and writes its pack.json.

    ``info`` holds id, name, version, description, licence and testPack. ``vocab`` (the CLIP BPE
    merges file) is copied in as the tokenizer when text is exported. ``force_external`` lists
    modalities whose weights go to a side file whatever their size (for tests).
    """
    model.eval()
    os.makedirs(out_dir, exist_ok=True)
    wanted = set(modalities)
    encoders: Dict[str, Any] = {}
    for m in (m for m in MODALITIES if m in wanted):
        path = os.path.join(out_dir, f"{m}.onnx")
        log(f"exporting {m} -> {path}")
        data = export_encoder(model, m, path, opset, fp16, True if m in force_external else None)
        encoders[m] = encoder_entry(model, m, path, data, out_dir)
    manifest = {"format": 1, **info, "embeddingDim": EMBEDDING_DIM}
    if "text" in encoders and vocab:
        shutil.copyfile(vocab, os.path.join(out_dir, VOCAB_FILE))
        manifest["tokenizer"] = _file_entry(os.path.join(out_dir, VOCAB_FILE), out_dir)
    manifest["encoders"] = encoders
    manifest["sources"] = {"urls": []}
    with open(os.path.join(out_dir, "pack.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


# ---------------------------------------------------------------------------------------------
# The command line: the real checkpoint through the official package


def load_imagebind(checkpoint: str, checkout: Optional[str] = None) -> nn.Module:
    """imagebind_huge() with the checkpoint's weights, loaded strictly (a mismatch is an error).

    With ``checkout`` (an ImageBind git checkout) the model code is imported from there through
    official.py, which needs only torch; otherwise from the installed ``imagebind`` package."""
    if checkout:
        from official import load_imagebind_model

        imagebind_huge = load_imagebind_model(checkout).imagebind_huge
    else:
        try:
            from imagebind.models.imagebind_model import imagebind_huge
        except ImportError as e:
            sys.exit(f"export.py: cannot import the official imagebind package ({e}); pass --imagebind <checkout>")
    model = imagebind_huge(pretrained=False)
    load_kw = {"weights_only": True} if "weights_only" in inspect.signature(torch.load).parameters else {}
    state = torch.load(checkpoint, map_location="cpu", **load_kw)
    model.load_state_dict(state.get("model", state) if isinstance(state, dict) else state)
    return model.eval()


def default_vocab(checkout: Optional[str] = None) -> Optional[str]:
    """The BPE merges file shipped with ImageBind: in the checkout, else in the installed package."""
    if checkout:
        path = os.path.join(checkout, "imagebind", "bpe", VOCAB_FILE)
        return path if os.path.isfile(path) else None
    try:
        import imagebind
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(imagebind.__file__), "bpe", VOCAB_FILE)
    return path if os.path.isfile(path) else None


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True, help="imagebind_huge.pth (the official state dict)")
    p.add_argument("--out", required=True, help="pack folder to create (install it with Bindery)")
    p.add_argument("--fp16", action="store_true", help="float16 weights and compute (half the size)")
    p.add_argument("--modalities", default=",".join(MODALITIES), help="comma-separated subset")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    p.add_argument("--vocab", help=f"{VOCAB_FILE} (default: ImageBind's own copy)")
    p.add_argument(
        "--imagebind",
        help="an ImageBind git checkout to import the model code from (needs only torch); "
        "default: the installed imagebind package",
    )
    args = p.parse_args(argv)
    args.modalities = [m.strip() for m in args.modalities.split(",") if m.strip()]
    unknown = sorted(set(args.modalities) - set(MODALITIES))
    if unknown or not args.modalities:
        p.error(
            f"--modalities: unknown {', '.join(unknown) or '(empty)'}; choose from {', '.join(MODALITIES)}"
        )
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    vocab = args.vocab or default_vocab(args.imagebind)
    if "text" in args.modalities and not (vocab and os.path.isfile(vocab)):
        sys.exit(f"export.py: {VOCAB_FILE} not found; pass --vocab")
    print(f"hashing {args.checkpoint} ...")
    info = imagebind_info(args.fp16, sha256_file(args.checkpoint))
    print("loading the model ...")
    model = load_imagebind(args.checkpoint, args.imagebind)
    manifest = export_pack(model, args.out, info, args.modalities, args.fp16, args.opset, vocab)
    total = sum(f["bytes"] for e in manifest["encoders"].values() for f in [e["onnx"], *e["externalData"]])
    print(f"wrote {manifest['id']} ({total / 1e9:.2f} GB) to {args.out}; next: bindery models install {args.out} (it runs the self-test)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
