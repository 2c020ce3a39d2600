"""Imports the official ImageBind model code from a checkout, without its heavy dependencies.

    from official import load_imagebind_model
    imagebind_model = load_imagebind_model("/path/to/ImageBind")

The model code (imagebind/models/*.py) needs only torch and numpy to run; it also imports timm's
``DropPath``/``trunc_normal_``, ``einops.rearrange``, iopath's ``g_pathmgr`` and ``ftfy``, and
``imagebind/__init__.py`` pulls in the data loaders (torchvision, torchaudio, pytorchvideo). None of
those change the forward pass in eval mode, so small stand-ins are installed here and the package
``__init__`` is skipped. No ImageBind code is copied into Bindery: the caller points at a checkout
(github.com/facebookresearch/ImageBind) and it is imported from there.
"""

import importlib
import os
import sys
import types

import torch
from torch import nn


def _module(name, **attrs):
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    return mod


def _trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    # timm's truncated normal init; torch has had the same function since 1.7.
    return nn.init.trunc_normal_(tensor, mean=mean, std=std, a=a, b=b)


class _DropPath(nn.Module):
    """Stochastic depth: the identity in eval mode, which is all inference uses."""

    def __init__(self, drop_prob=0.0):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        return x


def _rearrange(x, pattern, **_):
    # ImageBind uses exactly these two patterns (helpers.EinOpsRearrange in the trunks).
    if pattern.replace(" ", "") in ("bld->lbd", "lbd->bld"):
        return x.transpose(0, 1)
    raise NotImplementedError(f"einops stub: unsupported pattern {pattern!r}")


class _PathManager:
    @staticmethod
    def open(path, mode="r", **kwargs):
        return open(path, mode, **kwargs)

    @staticmethod
    def exists(path):
        return os.path.exists(path)


def install_stubs():
    """Registers the stand-ins for modules that are not installed (real ones win when present)."""
    for name in ("timm", "timm.layers", "einops", "iopath", "iopath.common", "iopath.common.file_io", "ftfy"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    if "timm.layers" not in sys.modules:
        _module("timm")
        _module("timm.layers", DropPath=_DropPath, trunc_normal_=_trunc_normal_)
    if "einops" not in sys.modules:
        _module("einops", rearrange=_rearrange)
    if "iopath.common.file_io" not in sys.modules:
        _module("iopath")
        _module("iopath.common")
        _module("iopath.common.file_io", g_pathmgr=_PathManager())
    if "ftfy" not in sys.modules:
        _module("ftfy", fix_text=lambda text: text)


def load_imagebind_model(checkout):
    """The official ``imagebind.models.imagebind_model`` module, imported from ``checkout``."""
    package_dir = os.path.join(os.path.abspath(checkout), "imagebind")
    if not os.path.isfile(os.path.join(package_dir, "models", "imagebind_model.py")):
        raise SystemExit(f"{checkout} is not an ImageBind checkout (no imagebind/models/imagebind_model.py)")
    install_stubs()
    if "imagebind" not in sys.modules:
        # A namespace for the package without running its __init__ (which imports the data loaders).
        pkg = types.ModuleType("imagebind")
        pkg.__path__ = [package_dir]
        sys.modules["imagebind"] = pkg
    return importlib.import_module("imagebind.models.imagebind_model")
