#!/usr/bin/env python3
"""tests/sdk - the sealed public API (docs/sdk.md, "What libinnereye exports").

libinnereye is compiled with -fvisibility=hidden and exports a function only
when its declaration in sdk/include/innereye carries IE_API.  This test reads
both sides and fails on any difference:
  - every IE_API declaration is exported by libinnereye.so (a missing one
    would fail a plugin's dlopen with an undefined symbol);
  - libinnereye.so exports nothing else, apart from the backend module ABI
    symbols listed below (internals must not be linkable by plugins);
  - every model plugin built here, and the `innereye` host executable,
    agrees: plugins need only SDK symbols, and the host exports the whole SDK
    to the plugins it loads (CMakeLists.txt: innereye_host).
  test_sdk_exports.py SDK_INCLUDE_DIR LIBINNEREYE HOST_EXECUTABLE MODELS_DIR
"""
import glob
import os
import re
import subprocess
import sys

# Exported but not SDK: the backend module ABI (core/backend/backend.h).
BACKEND_ABI = {"ie_cpu_backend_table"}

DECL = re.compile(r"^IE_API\b[^(;]*?\b(ie_[A-Za-z0-9_]+)\s*\(", re.M)


def sdk_declarations(include_dir):
    names = {}
    for header in sorted(glob.glob(os.path.join(include_dir, "innereye", "*.h"))):
        with open(header) as f:
            text = f.read()
        for name in DECL.findall(text):
            names[name] = os.path.basename(header)
        # A declaration of a function without the mark is a defect too: it
        # compiles for plugins and then fails to load.
        for m in re.finditer(r"^(?!IE_API|typedef|#|\s|/|\*|}|extern)[^;{}()]*?\b(ie_[a-z0-9_]+)\s*\(", text, re.M):
            if m.group(1) != "ie_plugin_entry":
                sys.exit(f"FAIL: {header}: '{m.group(1)}' is declared without IE_API")
    return names


def dynamic_symbols(path, defined):
    args = ["nm", "-D", "--defined-only" if defined else "--undefined-only", path]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    syms = set()
    for line in out.splitlines():
        parts = line.split()
        if not parts:
            continue
        name = parts[-1].split("@")[0]
        kind = parts[-2] if defined and len(parts) >= 2 else "U"
        if name.startswith("ie_") and kind in ("T", "D", "B", "R", "U", "V", "W"):
            syms.add(name)
    return syms


def main():
    include_dir, library, host, models_dir = sys.argv[1:5]
    sdk = sdk_declarations(include_dir)
    if len(sdk) < 150:
        sys.exit(f"FAIL: found only {len(sdk)} IE_API declarations in {include_dir}; the parser is broken")
    exported = dynamic_symbols(library, defined=True)
    problems = []
    for name in sorted(set(sdk) - exported):
        problems.append(f"{name} ({sdk[name]}) is declared IE_API but libinnereye does not export it")
    for name in sorted(exported - set(sdk) - BACKEND_ABI):
        problems.append(f"libinnereye exports {name}, which is no SDK function: mark it static, or declare it "
                        f"IE_API in sdk/include/innereye if plugins are meant to call it")
    host_exported = dynamic_symbols(host, defined=True)
    for name in sorted(set(sdk) - host_exported):
        problems.append(f"the host {os.path.basename(host)} does not export the SDK function {name}, so a "
                        f"plugin it loads would bind to a second copy of the library")
    plugins = sorted(glob.glob(os.path.join(models_dir, "*.so")))
    if not plugins:
        problems.append(f"no model plugins in {models_dir}")
    for plugin in plugins:
        for name in sorted(dynamic_symbols(plugin, defined=False) - set(sdk)):
            problems.append(f"{os.path.basename(plugin)} needs {name}, which is not in the SDK")
    for p in problems:
        print("FAIL:", p)
    if problems:
        return 1
    print(f"ok: libinnereye exports the {len(sdk)} SDK functions and {len(BACKEND_ABI)} backend ABI symbol(s), "
          f"nothing else; the host exports the SDK; {len(plugins)} model plugins need only SDK symbols")
    return 0


if __name__ == "__main__":
    sys.exit(main())
