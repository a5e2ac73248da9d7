#!/usr/bin/env python3
"""Checks that every config key is read in one file only (docs/architecture.md, "Settings").

A key is read by passing it to a getter of innereye/config.h
(ie_config_get_*, ie_config_has).  The key of a call is found as:
  - a string literal in the call: "train.epochs"
  - a parameter of the function around the call: the literal each caller in
    the same file passes in its place (a wrapper such as read_names(cfg, key))
  - an element of an array, NAME[...]: every literal of NAME's initialiser
    in the same file
  - a local variable: every literal assigned to it in the function
    (key = "postprocess.largest_component";).
A key whose literal cannot be found this way is an error too: the check
would otherwise miss it.  Keys are compared as written: reading a whole
section ("postprocess", ie_config_get_json) is not matched against the keys
inside it.

Scanned: the C files of core/ (but core/config, which implements the
getters) and tools/.  models/ and plugins/ read their own model.params
through the plugin API and are not scanned.

A key read in more than one file is an error, unless all its readers but one
are listed in the ```config-reads block of docs/architecture.md, one line
per file:
    FILE: KEY KEY ...    # why this file reads the keys again
An exception that is no longer needed (the file does not read the key, or
no other file does) is an error too.

Usage: check_config_reads.py [REPO_ROOT]   (default: the folder above tools/)
Exit status 0 when every key has one reader, 1 with one line per problem.
"""
import os
import re
import sys

GETTER = re.compile(r"\bie_config_(?:get_\w+|has)\s*\(")
LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
FUNCTION = re.compile(r"^[A-Za-z_][\w \t\*]*?\b(\w+)\s*\(([^;{}]*)\)\s*\{", re.M)


def strip_comments(text):
    """The text with comments blanked (kept length and line breaks), strings kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text[i] in "\"'":
            q, j = text[i], i + 1
            while j < n and text[j] != q:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def call_args(text, open_paren):
    """The top-level arguments of the call whose '(' is at open_paren, and the end."""
    depth, start, args, i = 0, open_paren + 1, [], open_paren
    while i < len(text):
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < len(text) and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            i = j
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append(text[start:i].strip())
                return args, i
        elif c == "," and depth == 1:
            args.append(text[start:i].strip())
            start = i + 1
        i += 1
    return args, i


def functions(text):
    """(name, parameter names, body start, body end) of each function definition."""
    found = []
    for m in FUNCTION.finditer(text):
        params = []
        for p in m.group(2).split(","):
            words = re.findall(r"\w+", p.split("[")[0])
            params.append(words[-1] if words else "")
        depth, i = 0, m.end() - 1
        while i < len(text):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        found.append((m.group(1), params, m.end(), i))
    return found


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


class FileScan:
    def __init__(self, path, text):
        self.path, self.text = path, strip_comments(text)
        self.functions = functions(self.text)
        self.keys = {}        # key -> first line
        self.problems = []

    def enclosing(self, pos):
        for f in self.functions:
            if f[2] <= pos <= f[3]:
                return f
        return None

    def array_literals(self, name):
        m = re.search(r"\b%s\s*(?:\[[^\]]*\]\s*)+=\s*\{" % re.escape(name), self.text)
        if not m:
            return None
        _, end = call_args(self.text, m.end() - 1)
        return LITERAL.findall(self.text[m.end():end])

    def resolve(self, expr, pos, depth=0):
        """Adds the keys the expression can be; False when one part is unknown."""
        for key in LITERAL.findall(expr):
            self.keys.setdefault(key, line_of(self.text, pos))
        rest = LITERAL.sub("", expr)
        ok = True
        for name in set(re.findall(r"\b([A-Za-z_]\w*)\s*\[", rest)):
            keys = self.array_literals(name)
            if keys is None:
                ok = False
            for key in keys or []:
                self.keys.setdefault(key, line_of(self.text, pos))
            rest = re.sub(r"\b%s\s*\[[^\]]*\]" % re.escape(name), "", rest)
            rest = re.sub(r"\[[^\]]*\]", "", rest)
        names = [w for w in re.findall(r"\b[A-Za-z_]\w*\b", rest)]
        if not names:
            return ok
        f = self.enclosing(pos)
        if f is None or depth > 4:
            return False
        for name in names:
            body = self.text[f[2]:f[3]]
            assigned = re.findall(r"\b%s\s*=\s*(\"(?:[^\"\\\n]|\\.)*\")\s*;" % re.escape(name), body)
            if assigned and name not in f[1]:
                for literal in assigned:
                    self.resolve(literal, pos, depth + 1)
                continue
            if name not in f[1]:
                return False
            index = f[1].index(name)
            callers = [m for m in re.finditer(r"\b%s\s*\(" % re.escape(f[0]), self.text)
                       if not (f[2] - 1 > m.start() >= self.text.rfind("\n", 0, f[2] - 1) - 200
                               and self.enclosing(m.start()) is None)]
            calls = 0
            for m in callers:
                if self.enclosing(m.start()) is None:
                    continue  # the definition itself
                args, _ = call_args(self.text, m.end() - 1)
                if index < len(args):
                    calls += 1
                    ok = self.resolve(args[index], m.start(), depth + 1) and ok
            if calls == 0:
                return False
        return ok

    def scan(self):
        for m in GETTER.finditer(self.text):
            args, _ = call_args(self.text, m.end() - 1)
            if len(args) < 2:
                continue
            if not self.resolve(args[1], m.start()):
                self.problems.append(f"{self.path}:{line_of(self.text, m.start())}: the key of this config read "
                                     f"({args[1]}) is not a literal, a parameter its callers in this file pass one "
                                     f"to, or an array of literals in this file: the check cannot see it")


def read_exceptions(doc_path):
    """The ```config-reads block of the doc: {file: {keys}}."""
    with open(doc_path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^```config-reads\n(.*?)^```", text, re.S | re.M)
    if not m:
        raise SystemExit(f"{doc_path}: no ```config-reads block (the second readers of a key)")
    exceptions = {}
    for raw in m.group(1).splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            path, _, keys = line.partition(":")
            exceptions.setdefault(path.strip(), set()).update(keys.split())
    return exceptions


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    readers, problems = {}, []
    for top in ("core", "tools"):
        for folder, _, names in sorted(os.walk(os.path.join(root, top))):
            for name in sorted(names):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.relpath(os.path.join(folder, name), root)
                if path.startswith("core/config/"):
                    continue
                with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
                    scan = FileScan(path, f.read())
                scan.scan()
                problems += scan.problems
                for key, line in scan.keys.items():
                    readers.setdefault(key, {})[path] = line
    exceptions = read_exceptions(os.path.join(root, "docs", "architecture.md"))
    for path, keys in sorted(exceptions.items()):
        for key in sorted(keys):
            files = readers.get(key, {})
            if path not in files:
                problems.append(f"docs/architecture.md: the config-reads exception \"{path}: {key}\" is not "
                                f"needed: {path} does not read {key}; remove it")
            elif len(files) == 1:
                problems.append(f"docs/architecture.md: the config-reads exception \"{path}: {key}\" is not "
                                f"needed: no other file reads {key}; remove it")
    for key in sorted(readers):
        files = {p: line for p, line in readers[key].items() if key not in exceptions.get(p, ())}
        if len(files) > 1 or (len(files) == 0 and len(readers[key]) > 1):
            where = ", ".join(f"{p}:{line}" for p, line in sorted(readers[key].items()))
            problems.append(f"config key {key} is read in {len(readers[key])} files ({where}): read it in one, into "
                            f"the settings struct of the layer that owns it, and pass the struct "
                            f"(docs/architecture.md, \"Settings\")")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
