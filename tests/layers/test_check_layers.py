#!/usr/bin/env python3
"""The layer check can fail: bad includes planted in a copy of the tree.

Usage: test_check_layers.py REPO_ROOT

Copies what tools/check_layers.py reads (core/, sdk/include, models/,
plugins/, docs/architecture.md) into a temporary folder, checks that the copy
passes, then plants one fault at a time and checks that the check fails with
a message naming the file, the line and the rule broken.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(sys.argv[1])
CHECKER = os.path.join(ROOT, "tools", "check_layers.py")
failures = []


def copy_tree(dst):
    for top in ("core", "sdk/include", "models", "plugins"):
        shutil.copytree(os.path.join(ROOT, top), os.path.join(dst, top),
                        ignore=shutil.ignore_patterns("build*", "*.o"))
    os.makedirs(os.path.join(dst, "docs"))
    shutil.copy(os.path.join(ROOT, "docs", "architecture.md"), os.path.join(dst, "docs"))


def run(tree):
    p = subprocess.run([sys.executable, CHECKER, tree], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def append(tree, path, text):
    """Appends text to a file of the copy; returns the line number of its first line."""
    full = os.path.join(tree, path)
    lines = 0
    if os.path.exists(full):
        with open(full, encoding="utf-8") as f:
            lines = f.read().count("\n")
    with open(full, "a", encoding="utf-8") as f:
        f.write(text)
    return lines + 1


def edit(tree, path, old, new):
    full = os.path.join(tree, path)
    with open(full, encoding="utf-8") as f:
        text = f.read()
    assert old in text, f"{path} no longer holds {old!r}: update this test"
    with open(full, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new, 1))


def case(name, plant, rc, *patterns):
    """Plants a fault in a fresh copy; the check must exit with rc and print every pattern."""
    with tempfile.TemporaryDirectory(prefix="ie_layers_") as tree:
        copy_tree(tree)
        expected = plant(tree)
        got_rc, out = run(tree)
        wanted = [p.format(line=expected) for p in patterns]
        missing = [p for p in wanted if not re.search(p, out)]
        if got_rc != rc or missing:
            failures.append(f"{name}: exit {got_rc} (want {rc}); missing {missing} in:\n{out}")
        else:
            print(f"ok   {name}")


case("the tree as it is passes", lambda t: None, 0)
case("util includes the trainer",
     lambda t: append(t, "core/util/status.c", '#include "core/train/trainer.h"\n'), 1,
     r"core/util/status\.c:{line}: #include \"core/train/trainer\.h\"",
     r"util -> train breaks the layers: train is above util")
case("autograd includes the SDK's ops header (the ops above it)",
     lambda t: append(t, "core/autograd/trace.c", '#include "innereye/ops.h"\n'), 1,
     r"core/autograd/trace\.c:{line}: .*autograd -> ops breaks the layers")
case("the MLflow client includes submission",
     lambda t: append(t, "core/tracking/mlflow_rest.c", '#include "core/submit/azureml.h"\n'), 1,
     r"core/tracking/mlflow_rest\.c:{line}: .*tracking -> submit")
case("a model plugin includes the library's internals",
     lambda t: append(t, "models/hello_world/hello_world.c", '#include "core/tensor/tensor_impl.h"\n'), 1,
     r"models/hello_world/hello_world\.c:{line}: .*SDK .* alone")
case("an exception that is no longer needed",
     lambda t: edit(t, "core/io/dicom_select.h", '#include "core/dicom/dicom.h"\n', ""), 1,
     r"exception core/io/dicom_select\.h: core/dicom/dicom\.h is no longer needed")
case("the kernels include the ops' SDK header (the layer above them)",
     lambda t: edit(t, "core/backend/pool_kernels.h", '#include "innereye/op_modes.h"\n',
                    '#include "innereye/ops.h"\n'), 1,
     r"core/backend/pool_kernels\.h:\d+: .*backend -> ops breaks the layers")
case("the tensor layer includes the backend above it",
     lambda t: append(t, "core/tensor/storage.c", '#include "core/backend/backend.h"\n'), 1,
     r"core/tensor/storage\.c:{line}: .*tensor -> backend breaks the layers")
case("a folder without a row",
     lambda t: (os.makedirs(os.path.join(t, "core/newthing")),
                append(t, "core/newthing/x.c", '#include "core/util/csv.h"\n')), 1,
     r"core/newthing/: a folder without a row")
case("a cycle in the table",
     lambda t: edit(t, "docs/architecture.md", "\nutil         :\n", "\nutil         : train\n"), 2,
     r"cycle: .*util")
case("the diagram differs from the table",
     lambda t: edit(t, "docs/architecture.md", "\nserve        : export\n", "\nserve        : export submit\n"), 1,
     r"mermaid diagram is not the table's")
case("an SDK header's function defined in a folder above the header's",
     lambda t: (append(t, "sdk/include/innereye/tensor.h", "IE_API int ie_planted_probe(int device);\n"),
                append(t, "core/backend/backend.c", "int ie_planted_probe(int device) {\n    return device;\n}\n"))[0],
     1, r"sdk/include/innereye/tensor\.h:{line}: ie_planted_probe is declared in innereye/tensor\.h, which the "
        r"\[sdk\] table gives to tensor, but defined in core/backend/backend\.c")

if failures:
    print("\n".join("FAIL " + f for f in failures))
    sys.exit(1)
