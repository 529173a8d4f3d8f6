#!/usr/bin/env python3
"""gen_tables.py — turn the probe's data files into C.

Reads findings.tsv, reasons.tsv and stage_categories.tsv from the source
directory (and codes/categories.tsv beside it) and writes a header with
enum finding_id, enum reason and enum diag_category, and a C file with
the tables behind them, which result.c includes.  The format of the files (tab-separated, '#' comments, '-' for
an empty field) and the helpers that read them are those of
codes/gen_codes.py.

Every row is validated: field count, the id's and the enum name's form,
the severity, the stages and the verdict, duplicate ids, and stage
categories that repeat one of codes/categories.tsv.  Any
problem is reported as FILE:LINE: message on stderr and the program
exits with status 1 without writing either output.

usage: gen_tables.py SRCDIR OUTPUT.h OUTPUT.c
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "codes"))
from gen_codes import DataError, c_string, read_tsv  # noqa: E402

# enum stage and enum severity in result.h, in their order.
STAGES = ["address", "dns", "connect", "greeting", "ehlo", "starttls", "tls",
          "auth", "mail", "rcpt", "quit"]
SEVERITIES = ["info", "warning", "error"]
VERDICTS = ["deliverable", "undeliverable", "risky", "unknown"]
ID_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
WORD_RE = re.compile(r"[a-z][a-z0-9_]*")


def enum_for(prefix, name):
    return prefix + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def load_findings(srcdir, errors):
    """findings.tsv: id, enum, severity, stage, reference, meaning."""
    out = []
    seen = {}
    for lineno, f in read_tsv(srcdir, "findings.tsv", 6, errors):
        fid, enum, sev, stage, ref, meaning = f
        where = "findings.tsv:%d" % lineno
        if not ID_RE.fullmatch(fid):
            errors.append("%s: bad finding id %r" % (where, fid))
            continue
        if enum != enum_for("FINDING_", fid):
            errors.append("%s: enum name of %s must be %s, not %r"
                          % (where, fid, enum_for("FINDING_", fid), enum))
            continue
        if sev not in SEVERITIES:
            errors.append("%s: severity %r is not one of %s"
                          % (where, sev, ", ".join(SEVERITIES)))
            continue
        stages = STAGES if stage == "any" else stage.split(",")
        bad = [s for s in stages if s not in STAGES]
        if bad or len(set(stages)) != len(stages):
            errors.append("%s: stage %r is not any or a list of distinct"
                          " stages (%s)" % (where, stage, ", ".join(STAGES)))
            continue
        if fid in seen:
            errors.append("%s: duplicate id %s (first at line %d)"
                          % (where, fid, seen[fid]))
            continue
        if len(meaning) > 600:
            errors.append("%s: meaning of %s too long" % (where, fid))
            continue
        seen[fid] = lineno
        out.append((fid, enum, sev, stage, None if ref == "-" else ref))
    if not out and not errors:
        errors.append("findings.tsv: no finding")
    return out


def load_words(srcdir, name, prefix, errors, check=None):
    """A table of words: word, enum, then the fields check(where, fields)
    validates (returns False to drop the row); (word, enum) pairs."""
    out = []
    seen = {}
    nfields = 4 if name == "reasons.tsv" else 3
    for lineno, f in read_tsv(srcdir, name, nfields, errors):
        word, enum = f[0], f[1]
        where = "%s:%d" % (name, lineno)
        if not WORD_RE.fullmatch(word):
            errors.append("%s: bad name %r" % (where, word))
            continue
        if enum != enum_for(prefix, word):
            errors.append("%s: enum name of %s must be %s, not %r"
                          % (where, word, enum_for(prefix, word), enum))
            continue
        if word in seen:
            errors.append("%s: duplicate %s (first at line %d)"
                          % (where, word, seen[word]))
            continue
        if check is not None and not check(where, f):
            continue
        seen[word] = lineno
        out.append((word, enum))
    if not out and not errors:
        errors.append("%s: empty" % name)
    return out


def load_reasons(srcdir, errors):
    """reasons.tsv: reason, enum, verdict, meaning."""
    def check(where, f):
        if f[2] not in VERDICTS:
            errors.append("%s: verdict %r is not one of %s"
                          % (where, f[2], ", ".join(VERDICTS)))
            return False
        return True
    return load_words(srcdir, "reasons.tsv", "REASON_", errors, check)


def load_stage_categories(srcdir, errors):
    """stage_categories.tsv: category, enum, meaning; none of them a
    category of codes/categories.tsv."""
    codes = {f[0] for _, f in read_tsv(os.path.join(srcdir, "..", "codes"),
                                       "categories.tsv", 5, errors)}

    def check(where, f):
        if f[0] in codes:
            errors.append("%s: %s is already a category of "
                          "codes/categories.tsv" % (where, f[0]))
            return False
        return True
    return load_words(srcdir, "stage_categories.tsv", "DIAG_CAT_", errors,
                      check)


def emit_header(out, findings, reasons, categories):
    w = out.append
    w("/* Generated by probe/gen_tables.py from probe/findings.tsv,")
    w(" * probe/reasons.tsv and probe/stage_categories.tsv.")
    w(" * Do not edit: change the data files instead. */")
    w("#ifndef SMTPPROBE_PROBE_IDS_H")
    w("#define SMTPPROBE_PROBE_IDS_H")
    w("")
    w("#include \"codes.h\"")
    w("")
    w("/* The finding ids, in the order of findings.tsv. */")
    w("enum finding_id {")
    for fid, enum, _, _, _ in findings:
        w("\t%s,\t/* %s */" % (enum, fid))
    w("\tFINDING_COUNT")
    w("};")
    w("")
    w("/* The reasons for a verdict; REASON_NONE (\"\") until one is given. */")
    w("enum reason {")
    w("\tREASON_NONE,")
    for _, enum in reasons:
        w("\t%s," % enum)
    w("\tREASON_COUNT")
    w("};")
    w("")
    w("/* The categories of a stage explanation that no reply gives,")
    w(" * numbered after enum codes_category. */")
    w("enum diag_category {")
    for i, (_, enum) in enumerate(categories):
        w("\t%s%s," % (enum, " = CODES_CAT_COUNT" if i == 0 else ""))
    w("\tDIAG_CAT_END")
    w("};")
    w("")
    w("#endif")


def stage_mask(stage):
    if stage == "any":
        return "FINDING_ANY_STAGE"
    return " | ".join("FINDING_STAGE_BIT(STAGE_%s)" % s.upper()
                      for s in stage.split(","))


def emit_data(out, findings, reasons, categories):
    w = out.append
    w("/* Generated by probe/gen_tables.py from probe/findings.tsv,")
    w(" * probe/reasons.tsv and probe/stage_categories.tsv.")
    w(" * Do not edit: change the data files instead. */")
    w("")
    w("static const struct finding_row finding_rows[FINDING_COUNT] = {")
    for fid, enum, sev, stage, ref in findings:
        w("\t[%s] = { %s, SEV_%s,\n\t    %s,\n\t    %s }," % (
            enum, c_string(fid), sev.upper(), stage_mask(stage),
            "NULL" if ref is None else c_string(ref)))
    w("};")
    w("")
    w("static const char *const reason_names[REASON_COUNT] = {")
    w("\t[REASON_NONE] = \"\",")
    for word, enum in reasons:
        w("\t[%s] = %s," % (enum, c_string(word)))
    w("};")
    w("")
    w("static const char *const diag_category_names[DIAG_CAT_END - "
      "CODES_CAT_COUNT] = {")
    for word, enum in categories:
        w("\t[%s - CODES_CAT_COUNT] = %s," % (enum, c_string(word)))
    w("};")


def write(path, lines):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return tmp


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: gen_tables.py SRCDIR OUTPUT.h OUTPUT.c\n")
        return 2
    srcdir, out_h, out_c = argv[1:]
    errors = []
    try:
        findings = load_findings(srcdir, errors)
        reasons = load_reasons(srcdir, errors)
        categories = load_stage_categories(srcdir, errors)
    except DataError as e:
        errors.append(str(e))
    if errors:
        for e in errors:
            sys.stderr.write("gen_tables.py: %s\n" % e)
        sys.stderr.write("gen_tables.py: %d error(s); nothing written\n"
                         % len(errors))
        return 1
    header, data = [], []
    emit_header(header, findings, reasons, categories)
    emit_data(data, findings, reasons, categories)
    tmp_h, tmp_c = write(out_h, header), write(out_c, data)
    os.replace(tmp_h, out_h)
    os.replace(tmp_c, out_c)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
