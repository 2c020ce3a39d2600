"""Export wrappers: one ONNX-exportable module per ImageBind modality.

ImageBind's ``forward`` takes a dict of modalities and returns a dict; ONNX wants one tensor in and
one tensor out. ``EncoderWrapper`` replays exactly what ``ImageBindModel.forward`` does for a single
modality -- preprocessor, trunk, head, postprocessor, then the ``reduce_list`` mean over the clip
axis -- so the exported graph equals the official model for that modality.

Nothing here imports the official ``imagebind`` package. The wrappers only rely on its interface
(``model.modality_preprocessors[m]`` and friends, and the dicts the preprocessors return), so the
same code exports the real checkpoint and the small test model in ``tiny_model.py``.
"""

from typing import Dict, List, Tuple, Union

import torch
from torch import nn

MODALITIES = ("vision", "text", "audio", "depth", "thermal", "imu")
OUTPUT_NAME = "embedding"
EMBEDDING_DIM = 1024

Dim = Union[int, str]

# The graph interface Bindery expects (docs/architecture.md §4, app/pack.ts). "N" is the batch; "S" is
# ImageBind's clip axis (video views / audio clips), averaged away inside the graph.
INPUT_SPECS: Dict[str, Tuple[str, List[Dim]]] = {
    "vision": ("float32", ["N", "S", 3, 2, 224, 224]),
    "text": ("int64", ["N", 77]),
    "audio": ("float32", ["N", "S", 1, 128, 204]),
    "depth": ("float32", ["N", 1, 224, 224]),
    "thermal": ("float32", ["N", 1, 224, 224]),
    "imu": ("float32", ["N", 6, 2000]),
}


def has_clip_axis(modality: str) -> bool:
    """ImageBind reduces over axis 1 for inputs of rank >= 5 (``reduce_list`` in its forward)."""
    return len(INPUT_SPECS[modality][1]) >= 5


def dynamic_axes(modality: str) -> Dict[str, Dict[int, str]]:
    """The symbolic axes of one encoder, named as in pack.json, so Bindery can find S by name."""
    shape = INPUT_SPECS[modality][1]
    axes = {i: d for i, d in enumerate(shape) if isinstance(d, str)}
    return {modality: axes, OUTPUT_NAME: {0: "N"}}


class EncoderWrapper(nn.Module):
    """One modality of an ImageBind-style model as a single-tensor ``forward``.

    The stages are called the way ``ImageBindModel.forward`` calls them: the preprocessor gets the
    tensor as a keyword named after the modality and returns ``{"trunk": kwargs, "head": kwargs}``
    (text passes its causal mask to the trunk and the EOT positions to the head that way).
    """

    def __init__(self, model: nn.Module, modality: str) -> None:
        super().__init__()
        if modality not in MODALITIES:
            raise ValueError(f"unknown modality {modality!r}")
        self.modality = modality
        self.preprocessor = model.modality_preprocessors[modality]
        self.trunk = model.modality_trunks[modality]
        self.head = model.modality_heads[modality]
        self.postprocessor = model.modality_postprocessors[modality]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # reduce_list: fold the clip axis into the batch, embed every clip, then average the
        # *postprocessed* (normalised and logit-scaled) clip embeddings, as ImageBind does.
        reduce_list = x.ndim >= 5
        if reduce_list:
            n, s = x.shape[0], x.shape[1]
            x = x.reshape(n * s, *x.shape[2:])
        staged = self.preprocessor(**{self.modality: x})
        tokens = self.trunk(**staged["trunk"])
        embedding = self.postprocessor(self.head(tokens, **staged["head"]))
        if reduce_list:
            embedding = embedding.reshape(n, s, -1).mean(dim=1)
        return embedding


def example_input(modality: str, n: int = 2, s: int = 2, seed: int = 0) -> torch.Tensor:
    """A traceable input for the interface above, with N and S > 1.

    Sizes of 1 are avoided on purpose: the tracer may bake a broadcast over a size-1 axis into the
    graph, which would then be wrong for other sizes. Text rows get <sot>, a few words and <eot> at
    different positions, so the EOT gather is exercised with distinct indices.
    """
    gen = torch.Generator().manual_seed(seed)
    dtype, shape = INPUT_SPECS[modality]
    dims = [n if d == "N" else s if d == "S" else d for d in shape]
    if dtype != "int64":
        return torch.randn(*dims, generator=gen)
    tokens = torch.zeros(*dims, dtype=torch.int64)
    for row in range(n):
        words = 2 + (3 * row + seed) % 9
        tokens[row, 0] = 49406
        tokens[row, 1 : words + 1] = torch.randint(1, 49406, (words,), generator=gen)
        tokens[row, words + 1] = 49407
    return tokens


def logit_scale(model: nn.Module, modality: str) -> float:
    """The factor ImageBind's postprocessor multiplies the unit embedding by (1 when none).

    ImageBind's ``LearnableLogitScaling`` computes ``clip(exp(log_logit_scale), max=max_logit_scale)``;
    for text the log scale is a learned parameter, so it must be read from the loaded weights.
    """
    for module in model.modality_postprocessors[modality].modules():
        log_scale = getattr(module, "log_logit_scale", None)
        if isinstance(log_scale, torch.Tensor):
            scale = float(log_scale.detach().float().exp())
            return min(scale, float(getattr(module, "max_logit_scale", scale)))
    return 1.0
