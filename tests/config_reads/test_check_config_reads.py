#!/usr/bin/env python3
"""The config-reads check can fail: second reads planted in a copy of the tree.

Usage: test_check_config_reads.py REPO_ROOT

Copies what tools/check_config_reads.py reads (core/, tools/ and
docs/architecture.md) into a temporary folder, checks that the copy passes,
then plants one fault at a time and checks that the check fails with a
message naming the key and the files.
"""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(sys.argv[1])
CHECKER = os.path.join(ROOT, "tools", "check_config_reads.py")
failures = []


def copy_tree(dst):
    for top in ("core", "tools"):
        shutil.copytree(os.path.join(ROOT, top), os.path.join(dst, top),
                        ignore=shutil.ignore_patterns("build*", "*.o", "__pycache__"))
    os.makedirs(os.path.join(dst, "docs"))
    shutil.copy(os.path.join(ROOT, "docs", "architecture.md"), os.path.join(dst, "docs"))


def run(tree):
    p = subprocess.run([sys.executable, CHECKER, tree], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def expect(name, plant, *wanted):
    """Plants a fault in a fresh copy; the check must fail naming every wanted text."""
    with tempfile.TemporaryDirectory() as tree:
        copy_tree(tree)
        plant(tree)
        code, out = run(tree)
        missing = [w for w in wanted if w not in out]
        if code != 1 or missing:
            failures.append(f"{name}: exit {code}, missing {missing} in:\n{out}")


def write(tree, path, text):
    with open(os.path.join(tree, path), "w", encoding="utf-8") as f:
        f.write(text)


def append_doc(tree, text):
    path = os.path.join(tree, "docs", "architecture.md")
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(doc.replace("```config-reads\n", "```config-reads\n" + text, 1))


with tempfile.TemporaryDirectory() as tree:
    copy_tree(tree)
    code, out = run(tree)
    if code != 0:
        failures.append(f"the unchanged copy fails the check (exit {code}):\n{out}")

# A literal key read a second time, in another layer.
expect("literal", lambda t: write(t, "core/report/planted.c",
       '#include "innereye/config.h"\nint planted(const ie_config *cfg) {\n'
       '    int64_t e = 0;\n    return ie_config_get_int(cfg, "train.epochs", &e) == IE_OK;\n}\n'),
       "config key train.epochs", "core/report/planted.c:4")
# Through a wrapper whose key is its parameter.
expect("wrapper", lambda t: write(t, "tools/planted.c",
       '#include "innereye/config.h"\nstatic bool on(const ie_config *cfg, const char *key) {\n'
       '    bool b = false;\n    ie_config_get_bool(cfg, key, &b);\n    return b;\n}\n'
       'int planted(const ie_config *cfg) { return on(cfg, "run.infer_test"); }\n'),
       "config key run.infer_test", "tools/planted.c:7")
# Through an array of keys.
expect("array", lambda t: write(t, "core/train/planted.c",
       '#include "innereye/config.h"\nint planted(const ie_config *cfg) {\n'
       '    static const char *const keys[] = {"seed", "output.dir"};\n    const char *s = NULL;\n'
       '    for (int i = 0; i < 2; i++) ie_config_get_string(cfg, keys[i], &s);\n    return 0;\n}\n'),
       "config key seed", "config key output.dir", "core/train/planted.c:5")
# A key the check cannot see.
expect("unknown key", lambda t: write(t, "core/train/planted.c",
       '#include "innereye/config.h"\nint planted(const ie_config *cfg, const char *const *all) {\n'
       '    bool b = false;\n    return ie_config_has(cfg, all[0]) || b;\n}\n'),
       "core/train/planted.c:4", "the check cannot see it")
# An exception nothing needs.
expect("stale exception", lambda t: append_doc(t, "core/report/report.c: train.epochs  # planted\n"),
       '"core/report/report.c: train.epochs" is not needed')

for f in failures:
    print("FAIL", f)
print("the check passes the tree and catches every planted fault" if not failures else "")
sys.exit(1 if failures else 0)
