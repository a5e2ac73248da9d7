#!/usr/bin/python3
"""Writes the PyTorch golden fixtures of the C tests into fixtures/.

Run with Debian's python3-torch (`make fixtures`).  Each gen_<area>.py module
has a generate(save) function; save(name, {key: tensor}) writes one
safetensors file.  Fixtures are committed so CI never needs PyTorch.
    /usr/bin/python3 tests/reference/generate.py [area ...]"""
import importlib
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_io  # noqa: E402

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)


def main():
    out = os.path.join(HERE, "fixtures")
    os.makedirs(out, exist_ok=True)
    wanted = sys.argv[1:]
    modules = sorted(f[4:-3] for f in os.listdir(HERE) if f.startswith("gen_") and f.endswith(".py"))
    for area in modules:
        if wanted and area not in wanted:
            continue
        mod = importlib.import_module("gen_" + area)
        mod.generate(lambda name, tensors: safetensors_io.save(os.path.join(out, name), tensors))
        print("wrote fixtures for", area)


if __name__ == "__main__":
    main()
