#!/usr/bin/env python3
"""Check that the reference documents match the code.

    check_docs.py [--root DIR] categories   # codes/categories.tsv <-> docs/CATEGORIES.md
    check_docs.py [--root DIR] findings     # finding ids in probe/*.c <-> docs/FINDINGS.md

categories: every category of codes/categories.tsv has a row in the
"Categories" table of docs/CATEGORIES.md and every row there is a
category; every default blame of the file has a row in the "Blame values"
table.

findings: every finding id the code can emit (the string literals among
the arguments of result_finding() before the severity, so both ids of
`cond ? "a.x" : "a.y"` count) has a row in docs/FINDINGS.md, and every id
listed there is emitted somewhere.

Prints what is missing on each side; exit status 0 when both sides agree,
1 otherwise, 2 when a file cannot be read.  Standard library only.
"""

import argparse
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
ID_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
ROW_RE = re.compile(r"^\|\s*`([^`]+)`\s*\|")


def table_keys(markdown, heading):
    """First-column keys (in backquotes) of the table under HEADING."""
    keys = []
    inside = False
    for line in markdown.splitlines():
        if line.startswith("#"):
            inside = line.lstrip("#").strip() == heading
            continue
        if inside:
            match = ROW_RE.match(line)
            if match:
                keys.append(match.group(1))
    return keys


def all_table_keys(markdown):
    """First-column keys of every table row in the document."""
    return [m.group(1) for m in map(ROW_RE.match, markdown.splitlines())
            if m]


def strip_comments(source):
    source = re.sub(r"/\*.*?\*/", " ", source, flags=re.S)
    return re.sub(r"//[^\n]*", " ", source)


def emitted_finding_ids(files):
    """{id: [file, ...]} for every id passed to result_finding()."""
    ids = {}
    for path in files:
        with open(path, encoding="utf-8") as handle:
            source = strip_comments(handle.read())
        for match in re.finditer(r"\bresult_finding\s*\(", source):
            args = source[match.end():]
            end = args.find("SEV_")
            if end < 0:
                continue
            for literal in re.findall(r'"((?:[^"\\]|\\.)*)"', args[:end]):
                if ID_RE.match(literal):
                    ids.setdefault(literal, []).append(
                        os.path.basename(path))
    return ids


def report(what, missing_doc, missing_code, doc, code_name):
    ok = True
    for key in sorted(missing_doc):
        print("%s: %s is in %s but not documented in %s"
              % (what, key, code_name, doc))
        ok = False
    for key in sorted(missing_code):
        print("%s: %s is documented in %s but not in %s"
              % (what, key, doc, code_name))
        ok = False
    return ok


def check_categories(root):
    tsv = os.path.join(root, "codes", "categories.tsv")
    doc = os.path.join(root, "docs", "CATEGORIES.md")
    categories, blames = [], set()
    with open(tsv, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            categories.append(fields[0])
            if len(fields) > 1:
                blames.add(fields[1])
    with open(doc, encoding="utf-8") as handle:
        markdown = handle.read()
    listed = table_keys(markdown, "Categories")
    ok = True
    for key in sorted({k for k in listed if listed.count(k) > 1}):
        print("categories: %s is listed twice in docs/CATEGORIES.md" % key)
        ok = False
    ok = report("categories", set(categories) - set(listed),
                set(listed) - set(categories), "docs/CATEGORIES.md",
                "codes/categories.tsv") and ok
    blame_rows = set(table_keys(markdown, "Blame values"))
    ok = report("blames", blames - blame_rows, set(), "docs/CATEGORIES.md",
                "codes/categories.tsv") and ok
    if ok:
        print("categories: %d categories, %d blames, all documented"
              % (len(categories), len(blames)))
    return ok


def check_findings(root):
    files = sorted(glob.glob(os.path.join(root, "probe", "*.c")))
    if not files:
        raise OSError("no probe/*.c under %s" % root)
    emitted = emitted_finding_ids(files)
    with open(os.path.join(root, "docs", "FINDINGS.md"),
              encoding="utf-8") as handle:
        listed = [k for k in all_table_keys(handle.read()) if ID_RE.match(k)]
    ok = True
    for key in sorted({k for k in listed if listed.count(k) > 1}):
        print("findings: %s is listed twice in docs/FINDINGS.md" % key)
        ok = False
    missing_doc = {"%s (%s)" % (k, ", ".join(sorted(set(v))))
                   for k, v in emitted.items() if k not in listed}
    ok = report("findings", missing_doc, set(listed) - set(emitted),
                "docs/FINDINGS.md", "probe/*.c") and ok
    if ok:
        print("findings: %d ids, all documented" % len(emitted))
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=ROOT, help="the source tree")
    parser.add_argument("check", choices=("categories", "findings"))
    opts = parser.parse_args(argv)
    try:
        ok = (check_categories if opts.check == "categories"
              else check_findings)(opts.root)
    except OSError as exc:
        print("check_docs: %s" % exc)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
