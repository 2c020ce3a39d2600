"""ONNX post-processing for the exporter: one-file external data, fp16 conversion, hashing.

Kept apart from the torch side so each step can be tested on a small graph.
"""

import hashlib
import os
from typing import Iterable, List

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Protobuf cannot serialise a message over 2 GiB; stay well clear of it. Above this the weights go
# to one side file (ImageBind-huge's fp32 vision tower is ~2.5 GB; its text tower ~1.4 GB is not).
EXTERNAL_DATA_THRESHOLD = 3 << 29  # 1.5 GiB
FP16_MAX = float(np.finfo(np.float16).max)


def weight_bytes(model: onnx.ModelProto) -> int:
    """Bytes of all initializers (raw or typed storage), loaded or not."""
    total = 0
    for t in model.graph.initializer:
        count = int(np.prod(t.dims)) if t.dims else 1
        total += count * _np_dtype(t.data_type).itemsize
    return total


def _np_dtype(data_type: int) -> np.dtype:
    """numpy dtype of an ONNX element type (the helper moved between onnx releases)."""
    convert = getattr(helper, "tensor_dtype_to_np_dtype", None)
    return np.dtype(convert(data_type) if convert else onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[data_type])


def save(model: onnx.ModelProto, path: str, external: bool) -> List[str]:
    """Writes ``path``; with ``external`` every weight goes to ``<name>.data`` beside it.

    One side file (not torch's default of one file per tensor) keeps the pack manifest short and
    lets Bindery hash and copy it as one unit; onnxruntime resolves the location relative to the
    graph. Returns the side files written (empty when none).
    """
    data_name = os.path.basename(path) + ".data"
    data_path = os.path.join(os.path.dirname(path), data_name)
    if os.path.exists(data_path):
        os.remove(data_path)  # onnx appends to an existing data file
    if not external:
        onnx.save_model(model, path)
        return []
    onnx.save_model(
        model,
        path,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=data_name,
        size_threshold=0,
    )
    return [data_path]


def _half(t: onnx.TensorProto) -> onnx.TensorProto:
    """A float32 tensor as float16. Finite values are clipped to the half range so that none
    overflows to inf; infinities stay (text's causal mask is -inf above the diagonal)."""
    array = numpy_helper.to_array(t)
    array = np.where(np.isfinite(array), np.clip(array, -FP16_MAX, FP16_MAX), array).astype(np.float16)
    return numpy_helper.from_array(array, t.name)


def _convert_nodes(nodes: Iterable[onnx.NodeProto]) -> None:
    """Constants, ConstantOfShape fills and Cast targets that make float32 now make float16."""
    for node in nodes:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT:
                attr.t.CopyFrom(_half(attr.t))
            elif node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.FLOAT16
            elif attr.type == onnx.AttributeProto.GRAPH:
                _convert_nodes(attr.g.node)


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """Converts a float32 graph to compute in float16 while keeping its float32 inputs and outputs.

    Every float32 weight and constant becomes float16, and a Cast is put after each float32 graph
    input and before each float32 output, so callers (and pack.json) see the same interface as the
    fp32 export. Accelerators run the whole tower in half precision; onnxruntime's CPU provider
    inserts casts around any operator it has no float16 kernel for, so the graph still runs there.
    LayerNormalization keeps its default float32 accumulation (stash_type=1).

    The model must have its weights loaded (``onnx.load`` does that for external data).
    """
    graph = model.graph
    for i, t in enumerate(graph.initializer):
        if t.data_type == TensorProto.FLOAT:
            graph.initializer[i].CopyFrom(_half(t))
    _convert_nodes(graph.node)

    casts_in, casts_out = [], []
    for value in graph.input:
        if value.type.tensor_type.elem_type == TensorProto.FLOAT:
            half = value.name + "_fp16"
            for node in graph.node:
                node.input[:] = [half if name == value.name else name for name in node.input]
            casts_in.append(helper.make_node("Cast", [value.name], [half], to=TensorProto.FLOAT16))
    for value in graph.output:
        if value.type.tensor_type.elem_type == TensorProto.FLOAT:
            half = value.name + "_fp16"
            for node in graph.node:
                node.output[:] = [half if name == value.name else name for name in node.output]
                node.input[:] = [half if name == value.name else name for name in node.input]
            casts_out.append(helper.make_node("Cast", [half], [value.name], to=TensorProto.FLOAT))
    nodes = casts_in + list(graph.node) + casts_out
    del graph.node[:]
    graph.node.extend(nodes)
    # Intermediate type annotations still say float32; drop them rather than let them contradict.
    del graph.value_info[:]
    return model


def check(path: str) -> None:
    """onnx.checker with strict type and shape inference, by path so graphs over 2 GiB work too.

    The full check catches what a structural check cannot, e.g. a float32/float16 mix left by
    to_fp16 or an operator the opset lacks.
    """
    onnx.checker.check_model(path, full_check=True)


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
