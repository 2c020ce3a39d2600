#!/usr/bin/env python3
"""Checkpoints Bindery's converter must refuse, for tests/convert (data only; rerun to refresh).

    /usr/bin/python3 models/imagebind/make_bad_checkpoints.py --out tests/fixtures/bad-checkpoints

- ``pickle-os-system.pth``: a torch.save archive whose pickle calls os.system (it would create
  ``/tmp/bindery-pwned-by-checkpoint`` if it ran);
- ``pickle-eval.pth``: one that calls builtins.eval;
- ``other-architecture.pth``: a real state dict of a small MLP, not ImageBind;
- ``legacy-format.pth``: a state dict in torch's pre-1.6 (non-zip) format;
- ``torchscript.pt``: a TorchScript module (torch.jit.save), not a state dict.
"""

import argparse
import builtins
import collections
import os

import torch

MARKER = "/tmp/bindery-pwned-by-checkpoint"


class RunsCode:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    out = lambda name: os.path.join(args.out, name)  # noqa: E731

    weights = collections.OrderedDict(w=torch.ones(2, 2))
    torch.save(collections.OrderedDict(weights, evil=RunsCode(os.system, f"touch {MARKER}")), out("pickle-os-system.pth"))
    torch.save(collections.OrderedDict(weights, evil=RunsCode(builtins.eval, "1+1")), out("pickle-eval.pth"))
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    torch.save(mlp.state_dict(), out("other-architecture.pth"))
    torch.save(mlp.state_dict(), out("legacy-format.pth"), _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.script(mlp), out("torchscript.pt"))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
