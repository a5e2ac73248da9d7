#!/usr/bin/env python3
"""Checks that every #include of the library follows its layers.

The allowed dependencies are read from one place, the ```layers block of
docs/architecture.md (the doc shows the very table this script enforces):

  [layers]     FOLDER: FOLDERS    a folder of core/ may include its own headers,
                                  those of the folders listed, and through them
                                  whatever those may include (the closure)
  [sdk]        HEADER = FOLDER    the folder that implements an SDK header of
                                  sdk/include: including it depends on that folder
  [external]   NAME ...           quoted includes that are neither core/ nor the
                                  SDK (generated or third-party headers)
  [exceptions] FILE: HEADER       an include that breaks the table, allowed
                                  because a comment beside it says why; an
                                  exception no longer used is an error too

Checked: every file under core/ and sdk/include (their includes of core/ and
innereye/ headers), and models/ and plugins/, which may include the SDK only.
And every IE_API function of an SDK header must be defined in the folder the
[sdk] table gives the header (else its callers would depend on another folder
through an include the check counts as the header's own).
The command-line program (tools/) is above every layer and is not checked.

The doc's ```mermaid diagram must be the one --diagram prints from the table,
so the picture cannot drift from the rules either.

Usage: check_layers.py [--diagram] [REPO_ROOT]   (default: the folder above tools/)
Exit status 0 when every include is allowed, 1 with one line per broken
include (file:line, the include, the rule it breaks), 2 when the table itself
is wrong.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
SOURCE_ENDINGS = (".c", ".h", ".cxx", ".cu", ".cuh")


class TableError(Exception):
    pass


def read_table(doc_path):
    """The ```layers block of the doc as (layers, sdk, external, exceptions)."""
    with open(doc_path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^```layers\n(.*?)^```", text, re.S | re.M)
    if not m:
        raise TableError(f"{doc_path}: no ```layers block (the allowed-dependency table)")
    first_line = text[: m.start(1)].count("\n") + 1
    layers, sdk, external, exceptions = {}, {}, set(), {}
    section = None
    for number, raw in enumerate(m.group(1).splitlines(), first_line):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{doc_path}:{number}"
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            if section not in ("layers", "sdk", "external", "exceptions"):
                raise TableError(f"{where}: unknown section [{section}]")
            continue
        if section == "layers":
            name, sep, deps = line.partition(":")
            if not sep or not name.strip():
                raise TableError(f"{where}: expected 'FOLDER: FOLDERS IT MAY INCLUDE', got '{line}'")
            if name.strip() in layers:
                raise TableError(f"{where}: folder {name.strip()} has two rows")
            layers[name.strip()] = deps.split()
        elif section == "sdk":
            header, sep, folder = line.partition("=")
            if not sep:
                raise TableError(f"{where}: expected 'innereye/HEADER.h = FOLDER', got '{line}'")
            sdk[header.strip()] = folder.strip()
        elif section == "external":
            external.update(line.split())
        elif section == "exceptions":
            path, sep, header = line.partition(":")
            if not sep:
                raise TableError(f"{where}: expected 'FILE: HEADER', got '{line}'")
            exceptions[(path.strip(), header.strip())] = where
        else:
            raise TableError(f"{where}: a row before the first [section]")
    for name, deps in layers.items():
        for d in deps:
            if d not in layers:
                raise TableError(f"{doc_path}: {name} may include {d}, which has no row of its own")
    for header, folder in sdk.items():
        if folder not in layers:
            raise TableError(f"{doc_path}: {header} is said to be implemented in {folder}, which has no row")
    return layers, sdk, external, exceptions


def closure(layers):
    """Every folder each folder may include; a cycle in the table is an error."""
    reach = {}

    def visit(name, path):
        if name in path:
            raise TableError("the table has a cycle: " + " -> ".join(path[path.index(name):] + [name]))
        if name not in reach:
            below = set()
            for d in layers[name]:
                below.add(d)
                below |= visit(d, path + [name])
            reach[name] = below
        return reach[name]

    for name in layers:
        visit(name, [])
    return reach


def levels(layers):
    """Level 0: folders that include no other; else one above the highest they include."""
    level = {}

    def of(name):
        if name not in level:
            level[name] = 1 + max((of(d) for d in layers[name]), default=-1)
        return level[name]

    for name in layers:
        of(name)
    return level


def diagram(layers):
    """The mermaid flowchart of the table: one row per level, an arrow per row entry."""
    level = levels(layers)
    out = ["flowchart TD"]
    for k in sorted(set(level.values()), reverse=True):
        out.append(f"  subgraph level{k}[\"level {k}\"]")
        out.append("    direction LR")
        out += [f"    {name}" for name in layers if level[name] == k]
        out.append("  end")
    for name, deps in layers.items():
        out += [f"  {name} --> {d}" for d in deps]
    return "\n".join(out) + "\n"


def source_files(root, top):
    for folder, dirs, files in os.walk(os.path.join(root, top)):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(SOURCE_ENDINGS):
                yield os.path.relpath(os.path.join(folder, name), root)


SDK_DECLARATION = re.compile(r"^\s*IE_API\b[^;(]*?\b(\w+)\s*\(", re.M)
DEFINITION_START = re.compile(r"^[A-Za-z_][^\n;{}#=]*?\b(ie_\w+)\s*\(", re.M)


def definitions(text):
    """(name, line) of every function defined in a C file: a name at the start
    of a declarator, its parameters (parentheses balanced), then a body."""
    for m in DEFINITION_START.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        rest = text[i:i + 200].lstrip()
        if rest.startswith("{"):
            yield m.group(1), text.count("\n", 0, m.start()) + 1


def misplaced_definitions(root, sdk):
    """An SDK header belongs to the folder that implements it ([sdk]): a
    function it declares that is defined in another folder of core/ hides a
    dependency, since its callers include the header of a lower layer."""
    where = {}
    for path in source_files(root, "core"):
        if path.endswith((".c", ".cxx", ".cu")):
            with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
                for name, line in definitions(f.read()):
                    where.setdefault(name, []).append((path, line))
    errors = []
    for header, folder in sorted(sdk.items()):
        path = os.path.join("sdk/include", header)
        if not os.path.exists(os.path.join(root, path)):
            continue
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in SDK_DECLARATION.finditer(text):
            found = where.get(m.group(1), [])
            # defined nowhere: made by a macro, which this check does not follow
            if found and not any(p.split("/")[1] == folder for p, _ in found):
                p, line = found[0]
                errors.append(f"{path}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(1)} is declared in "
                              f"{header}, which the [sdk] table gives to {folder}, but defined in {p}:{line}; "
                              f"callers that include {header} depend on {p.split('/')[1]} unseen: move the "
                              "definition, or the declaration to a header of that folder")
    return errors


def check(root, doc="docs/architecture.md"):
    layers, sdk, external, exceptions = read_table(os.path.join(root, doc))
    reach = closure(layers)
    errors, used = [], set()
    with open(os.path.join(root, doc), encoding="utf-8") as f:
        shown = re.search(r"^```mermaid\n(.*?)^```", f.read(), re.S | re.M)
    if not shown or shown.group(1) != diagram(layers):
        errors.append(f"{doc}: the ```mermaid diagram is not the table's; "
                      "paste the output of tools/check_layers.py --diagram")

    def folder_of(header):
        """The layer a quoted include depends on, or None when it is outside the table."""
        if header.startswith("core/"):
            return header.split("/")[1]
        if header.startswith("innereye/"):
            return sdk.get(header, "?")
        return None

    present = sorted(d for d in os.listdir(os.path.join(root, "core")) if os.path.isdir(os.path.join(root, "core", d)))
    for d in present:
        if d not in layers:
            errors.append(f"core/{d}/: a folder without a row in the [layers] table of {doc}; "
                          "add it with the folders it may include")
    for header in sorted(os.listdir(os.path.join(root, "sdk/include/innereye"))):
        if f"innereye/{header}" not in sdk:
            errors.append(f"sdk/include/innereye/{header}: an SDK header without a row in the [sdk] table of {doc}")

    def includes(path):
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if m:
                    yield number, m.group(1)

    for path in list(source_files(root, "core")) + list(source_files(root, "sdk/include")):
        if path.startswith("core/"):
            own = path.split("/")[1]
        else:
            own = sdk.get("innereye/" + os.path.basename(path), "?")
        for number, header in includes(path):
            target = folder_of(header)
            where = f"{path}:{number}: #include \"{header}\""
            if target is None:
                local = os.path.exists(os.path.join(root, os.path.dirname(path), header))
                if not local and header not in external:
                    errors.append(f"{where}: neither core/ nor the SDK nor listed in [external]")
                continue
            if target == "?":
                errors.append(f"{where}: an SDK header without a row in the [sdk] table")
                continue
            if target == own or target in reach.get(own, ()):
                continue
            if (path, header) in exceptions:
                used.add((path, header))
                continue
            if own in reach.get(target, ()):
                rule = f"{target} is above {own} ({target} may include {own}), so {own} must not include it"
            else:
                rule = f"{own} may include only {', '.join(sorted(reach.get(own, ()))) or 'nothing else'}"
            errors.append(f"{where}: {own} -> {target} breaks the layers: {rule}")

    errors += misplaced_definitions(root, sdk)

    for top in ("models", "plugins"):
        if not os.path.isdir(os.path.join(root, top)):
            continue
        for path in source_files(root, top):
            for number, header in includes(path):
                if header.startswith("core/"):
                    errors.append(f"{path}:{number}: #include \"{header}\": {top}/ is built on the SDK "
                                  "(sdk/include/innereye) alone, never on the library's internals")

    for key, where in sorted(exceptions.items(), key=lambda kv: kv[1]):
        if key not in used:
            errors.append(f"{where}: the exception {key[0]}: {key[1]} is no longer needed (or the file moved); "
                          "remove it from the table")
    return errors


def main(argv):
    args = argv[1:]
    want_diagram = "--diagram" in args
    args = [a for a in args if a != "--diagram"]
    root = args[0] if args else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        if want_diagram:
            print("```mermaid\n" + diagram(read_table(os.path.join(root, "docs/architecture.md"))[0]) + "```")
            return 0
        errors = check(root)
    except (TableError, OSError) as e:
        print(f"check_layers: {e}", file=sys.stderr)
        return 2
    for e in errors:
        print(e)
    if errors:
        print(f"check_layers: {len(errors)} include(s) break the layers of docs/architecture.md", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
