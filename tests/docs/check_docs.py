#!/usr/bin/env python3
"""Check that the reference documents match the code.

    check_docs.py [--root DIR] categories   # codes/categories.tsv <-> docs/CATEGORIES.md
    check_docs.py [--root DIR] findings     # probe/findings.tsv <-> docs/FINDINGS.md, code
    check_docs.py [--root DIR] reasons      # probe/reasons.tsv <-> docs/REPORT-FORMAT.md

categories: every category of codes/categories.tsv has a row in the
"Categories" table of docs/CATEGORIES.md and every row there is a
category; every default blame of the file has a row in the "Blame values"
table.

findings: every row of probe/findings.tsv has a row in docs/FINDINGS.md
with the same severity (the first of "a / b"), stage and meaning, and
every id listed there is in the table; every id's enum name (FINDING_...)
is used by some code in probe/*/*.c, so the table holds no id that is
never emitted.

reasons: every row of probe/reasons.tsv has a row in the "Reasons" table
of docs/REPORT-FORMAT.md with the same verdict and meaning, and every row
there is in the table.

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


def strip_comments(source):
    source = re.sub(r"/\*.*?\*/", " ", source, flags=re.S)
    return re.sub(r"//[^\n]*", " ", source)


def read_tsv(path, nfields):
    """The rows of a tab-separated table of the source tree."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != nfields:
                raise OSError("%s: a row without %d fields: %r"
                              % (path, nfields, line))
            rows.append(fields)
    return rows


def table_rows(markdown, heading=None):
    """{key: [cells after the key]} for every table row of the document
    (under HEADING only, when given), and the keys listed more than
    once."""
    rows, twice = {}, set()
    inside = heading is None
    for line in markdown.splitlines():
        if heading is not None and line.startswith("#"):
            inside = line.lstrip("#").strip() == heading
            continue
        match = ROW_RE.match(line) if inside else None
        if not match:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if match.group(1) in rows:
            twice.add(match.group(1))
        rows[match.group(1)] = cells[1:]
    return rows, twice


def used_names(files, names):
    """The names among names that occur as a word in some file."""
    used = set()
    for path in files:
        with open(path, encoding="utf-8") as handle:
            source = strip_comments(handle.read())
        used.update(set(re.findall(r"\b[A-Z][A-Z0-9_]*\b", source)) & names)
    return used


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
    files = sorted(glob.glob(os.path.join(root, "probe", "*", "*.c")))
    if not files:
        raise OSError("no probe/*/*.c under %s" % root)
    table = {fid: (enum, sev, stage.replace(",", ", "), meaning)
             for fid, enum, sev, stage, _ref, meaning in read_tsv(
                 os.path.join(root, "probe", "findings.tsv"), 6)}
    with open(os.path.join(root, "docs", "FINDINGS.md"),
              encoding="utf-8") as handle:
        rows, twice = table_rows(handle.read())
    listed = {k: v for k, v in rows.items() if ID_RE.match(k)}
    ok = True
    for key in sorted(twice & set(listed)):
        print("findings: %s is listed twice in docs/FINDINGS.md" % key)
        ok = False
    ok = report("findings", set(table) - set(listed),
                set(listed) - set(table), "docs/FINDINGS.md",
                "probe/findings.tsv") and ok
    for fid in sorted(set(table) & set(listed)):
        _enum, sev, stage, meaning = table[fid]
        cells = listed[fid]
        if len(cells) != 3:
            print("findings: the row of %s in docs/FINDINGS.md needs the "
                  "columns severity, stage, meaning" % fid)
            ok = False
            continue
        doc = (cells[0].split(" / ")[0], cells[1], cells[2])
        for what, want, got in zip(("severity", "stage", "meaning"),
                                   (sev, stage, meaning), doc):
            if want != got:
                print("findings: %s of %s is %r in probe/findings.tsv but "
                      "%r in docs/FINDINGS.md" % (what, fid, want, got))
                ok = False
    enums = {v[0]: k for k, v in table.items()}
    for enum in sorted(set(enums) - used_names(files, set(enums))):
        print("findings: %s (%s) is in probe/findings.tsv but no code in "
              "probe/*/*.c uses it" % (enums[enum], enum))
        ok = False
    if ok:
        print("findings: %d ids, all documented and used" % len(table))
    return ok


def check_reasons(root):
    table = {r[0]: (r[2], r[3]) for r in read_tsv(
        os.path.join(root, "probe", "reasons.tsv"), 4)}
    with open(os.path.join(root, "docs", "REPORT-FORMAT.md"),
              encoding="utf-8") as handle:
        markdown = handle.read()
    listed = table_keys(markdown, "Reasons")
    rows, _ = table_rows(markdown, "Reasons")
    ok = True
    for key in sorted({k for k in listed if listed.count(k) > 1}):
        print("reasons: %s is listed twice in docs/REPORT-FORMAT.md" % key)
        ok = False
    ok = report("reasons", set(table) - set(listed), set(listed) - set(table),
                "docs/REPORT-FORMAT.md", "probe/reasons.tsv") and ok
    for key in sorted(set(table) & set(listed)):
        if tuple(rows[key]) != table[key]:
            print("reasons: %s is %r in probe/reasons.tsv but %r in "
                  "docs/REPORT-FORMAT.md" % (key, table[key],
                                             tuple(rows[key])))
            ok = False
    if ok:
        print("reasons: %d reasons, all documented" % len(table))
    return ok


CHECKS = {"categories": check_categories, "findings": check_findings,
          "reasons": check_reasons}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=ROOT, help="the source tree")
    parser.add_argument("check", choices=sorted(CHECKS))
    opts = parser.parse_args(argv)
    try:
        ok = CHECKS[opts.check](opts.root)
    except OSError as exc:
        print("check_docs: %s" % exc)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
