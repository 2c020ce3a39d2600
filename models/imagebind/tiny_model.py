"""A tiny, randomly initialised model with ImageBind's interface, for testing the exporter in CI.

The real checkpoint is 4.5 GB and the official code is not vendored here, so the export path is
exercised on this stand-in instead. It keeps what matters to the exporter and to Bindery's runtime:

* the attribute structure (``modality_preprocessors``, ``modality_trunks``, ``modality_heads``,
  ``modality_postprocessors``, each an ``nn.ModuleDict`` over the six modalities);
* the preprocessor calling convention (keyword named after the modality, returning
  ``{"trunk": ..., "head": ...}``) and ``forward``'s ``reduce_list`` averaging over clips;
* the same kinds of operators at the same input sizes: an image repeated into a 2-frame video and
  cut into 3-D patches, overlapping 2-D patches on the spectrogram, single-channel patches for
  depth/thermal, linear patches of 8 IMU samples x 6 channels, a CLS token and learned positions,
  a causally masked text transformer pooled at the EOT token (found with argmax), attention with
  learned key/value biases, and L2 normalisation followed by a (learnable, for text) logit scale.

Widths and depths are small so all six graphs export in seconds. It is written for this project;
it proves plumbing, never semantics.
"""

import math
from typing import Dict, Optional, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from wrappers import EMBEDDING_DIM, MODALITIES

VOCAB_SIZE = 49408
CONTEXT_LENGTH = 77
# ImageBind's per-modality postprocessor scales; None means "learnable, initialised to 1/0.07".
LOGIT_SCALES = {"vision": 1.0, "text": None, "audio": 20.0, "depth": 5.0, "thermal": 10.0, "imu": 5.0}


class RepeatFrames(nn.Module):
    """Turns an image [B,C,H,W] into a video [B,C,T,H,W] by repeating it; videos pass through."""

    def __init__(self, frames: int) -> None:
        super().__init__()
        self.frames = frames

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 4:
            x = x.unsqueeze(2)
        if x.shape[2] == 1:
            x = x.repeat_interleave(self.frames, dim=2)
        return x


class PatchTokens(nn.Module):
    """Patch stem + CLS token + learned positions: the token sequence a ViT trunk consumes.

    ``stem`` maps the input to a feature map [B, D, *grid]; ``grid_tokens`` is the number of grid
    cells at the fixed input size, so the position table can be allocated up front.
    """

    def __init__(self, modality: str, stem: nn.Module, dim: int, grid_tokens: int, norm: bool) -> None:
        super().__init__()
        self.modality = modality
        self.stem = stem
        self.norm = nn.LayerNorm(dim) if norm else nn.Identity()
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * dim**-0.5)
        self.pos_embed = nn.Parameter(torch.randn(1, grid_tokens + 1, dim) * dim**-0.5)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """[B, ...] -> [B, L, D] patch tokens (before CLS and positions)."""
        return self.stem(x).flatten(2).transpose(1, 2)

    def forward(self, **inputs: torch.Tensor) -> Dict[str, Dict[str, torch.Tensor]]:
        patches = self.norm(self.tokens(inputs[self.modality]))
        cls = self.cls_token.expand(patches.shape[0], -1, -1)
        tokens = torch.cat([cls, patches], dim=1) + self.pos_embed
        return {"trunk": {"tokens": tokens}, "head": {}}


class ImuTokens(PatchTokens):
    """IMU [B, 6, 2000] -> windows of 8 samples, each window's 6x8 values projected linearly."""

    def __init__(self, dim: int, window: int = 8, channels: int = 6, samples: int = 2000) -> None:
        super().__init__("imu", nn.Linear(channels * window, dim, bias=False), dim, samples // window, True)
        self.window = window

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        windows = x.unfold(-1, self.window, self.window).permute(0, 2, 1, 3)  # [B, L, C, window]
        return self.stem(windows.reshape(windows.shape[0], windows.shape[1], -1))


class TextTokens(nn.Module):
    """Token ids [B, 77] -> embeddings + positions; hands the causal mask and EOT positions on."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(VOCAB_SIZE, dim)
        self.pos_embed = nn.Parameter(torch.randn(1, CONTEXT_LENGTH, dim) * 0.01)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        causal = torch.full((CONTEXT_LENGTH, CONTEXT_LENGTH), float("-inf")).triu(1)
        self.register_buffer("mask", causal)

    def forward(self, text: torch.Tensor) -> Dict[str, Dict[str, torch.Tensor]]:
        tokens = self.token_embedding(text) + self.pos_embed
        # <eot> has the largest id in the vocabulary, so argmax finds it (as CLIP and ImageBind do).
        return {"trunk": {"tokens": tokens, "attn_mask": self.mask}, "head": {"seq_len": text.argmax(dim=-1)}}


class Block(nn.Module):
    """Pre-norm transformer block over [L, B, D] (sequence-first, as nn.MultiheadAttention defaults)."""

    def __init__(self, dim: int, heads: int, bias_kv: bool) -> None:
        super().__init__()
        self.norm_1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = nn.MultiheadAttention(dim, heads, bias=True, add_bias_kv=bias_kv)
        self.norm_2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor]) -> torch.Tensor:
        h = self.norm_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=attn_mask)[0]
        return x + self.mlp(self.norm_2(x))


class Trunk(nn.Module):
    """A small transformer taking and returning batch-first tokens [B, L, D]."""

    def __init__(self, dim: int, depth: int, heads: int, pre_norm: bool, bias_kv: bool) -> None:
        super().__init__()
        self.pre_norm = nn.LayerNorm(dim, eps=1e-6) if pre_norm else nn.Identity()
        self.blocks = nn.ModuleList(Block(dim, heads, bias_kv) for _ in range(depth))

    def forward(self, tokens: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = self.pre_norm(tokens).transpose(0, 1)
        for block in self.blocks:
            x = block(x, attn_mask)
        return x.transpose(0, 1)


class SelectToken(nn.Module):
    """Keeps one token (the CLS token at 0) of [B, L, D]."""

    def __init__(self, index: int = 0) -> None:
        super().__init__()
        self.index = index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.index]


class SelectEot(nn.Module):
    """Text head: the feature at each row's EOT position, then the projection."""

    def __init__(self, proj: nn.Module) -> None:
        super().__init__()
        self.proj = proj

    def forward(self, x: torch.Tensor, seq_len: torch.Tensor) -> torch.Tensor:
        return self.proj(x[torch.arange(x.shape[0]), seq_len])


class Normalize(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=-1, p=2)


class LogitScale(nn.Module):
    """Multiplies by clip(exp(log_logit_scale), max=100); learnable for text, fixed elsewhere."""

    def __init__(self, init: float, learnable: bool, max_logit_scale: float = 100.0) -> None:
        super().__init__()
        self.max_logit_scale = max_logit_scale
        log_scale = torch.tensor(math.log(init))
        if learnable:
            self.log_logit_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_logit_scale", log_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clip(self.log_logit_scale.exp(), max=self.max_logit_scale) * x


def _preprocessors(dim: int) -> Dict[str, nn.Module]:
    """Stems at ImageBind's input sizes (patch sizes enlarged where that only shortens sequences)."""
    vision_stem = nn.Sequential(
        RepeatFrames(2), nn.Conv3d(3, dim, (2, 28, 28), stride=(2, 28, 28), bias=False)
    )
    audio_stem = nn.Conv2d(1, dim, kernel_size=16, stride=10, bias=False)  # overlapping, 12 x 19 grid

    def single_channel(name: str) -> PatchTokens:
        return PatchTokens(name, nn.Conv2d(1, dim, 16, stride=16, bias=False), dim, 14 * 14, norm=True)

    return {
        "vision": PatchTokens("vision", vision_stem, dim, 8 * 8, norm=False),
        "text": TextTokens(dim),
        "audio": PatchTokens("audio", audio_stem, dim, 12 * 19, norm=True),
        "depth": single_channel("depth"),
        "thermal": single_channel("thermal"),
        "imu": ImuTokens(dim),
    }


def _head(modality: str, dim: int) -> nn.Module:
    if modality == "text":
        return SelectEot(
            nn.Sequential(nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, EMBEDDING_DIM, bias=False))
        )
    dropout: Sequence[nn.Module] = [nn.Dropout(0.5)] if modality == "imu" else []
    return nn.Sequential(
        nn.LayerNorm(dim, eps=1e-6), SelectToken(0), *dropout, nn.Linear(dim, EMBEDDING_DIM, bias=False)
    )


def _postprocessor(modality: str) -> nn.Module:
    scale = LOGIT_SCALES[modality]
    if scale == 1.0:
        return Normalize()
    return nn.Sequential(Normalize(), LogitScale(scale or 1 / 0.07, learnable=scale is None))


class TinyImageBind(nn.Module):
    """Six tiny encoders behind ImageBind's attributes and ``forward(dict) -> dict`` contract."""

    def __init__(self, dim: int = 32, depth: int = 2, heads: int = 4) -> None:
        super().__init__()
        self.modality_preprocessors = nn.ModuleDict(_preprocessors(dim))
        self.modality_trunks = nn.ModuleDict(
            {
                m: Trunk(dim, depth, heads, pre_norm=m == "vision", bias_kv=m not in ("vision", "text"))
                for m in MODALITIES
            }
        )
        self.modality_heads = nn.ModuleDict({m: _head(m, dim) for m in MODALITIES})
        self.modality_postprocessors = nn.ModuleDict({m: _postprocessor(m) for m in MODALITIES})

    def forward(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        outputs = {}
        for modality, value in inputs.items():
            clips = value.shape[:2] if value.ndim >= 5 else None  # video views / audio clips
            if clips is not None:
                value = value.flatten(0, 1)
            staged = self.modality_preprocessors[modality](**{modality: value})
            tokens = self.modality_trunks[modality](**staged["trunk"])
            embedding = self.modality_heads[modality](tokens, **staged["head"])
            embedding = self.modality_postprocessors[modality](embedding)
            if clips is not None:
                embedding = embedding.reshape(*clips, -1).mean(dim=1)
            outputs[modality] = embedding
        return outputs


def build_tiny_model(seed: int = 0) -> TinyImageBind:
    """The test model, identical for a given seed, in eval mode (dropout off)."""
    torch.manual_seed(seed)
    return TinyImageBind().eval()
