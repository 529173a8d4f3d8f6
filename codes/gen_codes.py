#!/usr/bin/env python3
"""gen_codes.py — turn the codes/ data files into C.

Reads commands.tsv, basic.tsv, enhanced.tsv, categories.tsv and
patterns.tsv from the source directory and writes one C file holding the
static tables that codes.c includes, and a header holding enum
codes_category (one CODES_CAT_ name per row of categories.tsv), which
codes.h includes.  The data files are tab-separated,
one record a line; blank lines and lines starting with '#' are ignored.

Every row is validated: field count, the type of each field, the names it
refers to (commands, legality marks, categories, blames), and duplicate
keys.  Any problem is reported as FILE:LINE: message on stderr and the
program exits with status 1 without writing the output.

usage: gen_codes.py SRCDIR OUTPUT.c OUTPUT.h
"""

import os
import re
import sys

COMMANDS = [
    "GREETING", "EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA",
    "BDAT", "RSET", "VRFY", "EXPN", "HELP", "NOOP", "QUIT",
]
LEGALITY = {
    "legal": "CODES_LEGAL",
    "extension": "CODES_LEGAL_EXTENSION",
    "common": "CODES_COMMON",
}
BLAMES = [
    "none", "recipient_address", "recipient_mailbox", "sender_address",
    "sender_authentication", "client_ip_reputation", "client_identity",
    "client_auth_tls", "relay_policy", "content", "rate_limit", "server",
    "protocol", "proxy",
]
ORIGIN_RE = re.compile(r"^(RFC \d+|vendor: .+|folk: .+|client pseudo-code)")


class DataError(Exception):
    pass


def c_string(s):
    """A C string literal for s: escapes quotes, backslashes, control
    bytes, and every '?' (so that no trigraph can form under -std=c11)."""
    out = ['"']
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "?":
            out.append("\\?")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7f:
            out.append("\\%03o" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def c_opt_string(s):
    return "NULL" if s is None else c_string(s)


def read_tsv(srcdir, name, nfields, errors):
    """Yield (lineno, fields) for every record; collect errors."""
    path = os.path.join(srcdir, name)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except OSError as e:
        raise DataError("%s: cannot read: %s" % (path, e.strerror))
    except UnicodeDecodeError as e:
        raise DataError("%s: not valid UTF-8: %s" % (path, e))
    rows = []
    for lineno, line in enumerate(lines, 1):
        if line.endswith("\r"):
            errors.append("%s:%d: carriage return at end of line" % (name, lineno))
            line = line[:-1]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != nfields:
            errors.append("%s:%d: expected %d tab-separated fields, found %d"
                          % (name, lineno, nfields, len(fields)))
            continue
        bad = False
        for i, fld in enumerate(fields):
            if fld != fld.strip():
                errors.append("%s:%d: field %d has leading or trailing blanks"
                              % (name, lineno, i + 1))
                bad = True
            elif fld == "":
                errors.append("%s:%d: field %d is empty (write - for none)"
                              % (name, lineno, i + 1))
                bad = True
        if not bad:
            rows.append((lineno, fields))
    return rows


def parse_int(s, lo, hi, where, what, errors):
    if not re.fullmatch(r"[0-9]+", s) or (len(s) > 1 and s[0] == "0"):
        errors.append("%s: %s %r is not a number without leading zeros"
                      % (where, what, s))
        return None
    v = int(s)
    if v < lo or v > hi:
        errors.append("%s: %s %d out of range %d-%d" % (where, what, v, lo, hi))
        return None
    return v


def load_commands(srcdir, errors):
    """commands.tsv: command, code, mark, reference."""
    out = []
    seen = {}
    for lineno, (cmd, code, mark, ref) in read_tsv(srcdir, "commands.tsv", 4, errors):
        where = "commands.tsv:%d" % lineno
        if cmd != "*" and cmd not in COMMANDS:
            errors.append("%s: unknown command %r" % (where, cmd))
            continue
        c = parse_int(code, 100, 599, where, "code", errors)
        if c is None:
            continue
        if mark not in LEGALITY:
            errors.append("%s: mark %r is not one of %s"
                          % (where, mark, ", ".join(LEGALITY)))
            continue
        key = (cmd, c)
        if key in seen:
            errors.append("%s: duplicate key %s %d (first at line %d)"
                          % (where, cmd, c, seen[key]))
            continue
        seen[key] = lineno
        out.append((cmd, c, mark, ref))
    for cmd in COMMANDS:
        if not any(r[0] == cmd for r in out):
            errors.append("commands.tsv: command %s has no row" % cmd)
    # A '*' row and a per-command row for the same code would contradict.
    for (cmd, c) in seen:
        if cmd != "*" and ("*", c) in seen:
            errors.append("commands.tsv:%d: %s %d repeats the '*' row for %d"
                          % (seen[(cmd, c)], cmd, c, c))
    return out


def load_basic(srcdir, categories, errors):
    """basic.tsv: code, origin, category (-), blame (-), meaning, causes,
    advice."""
    out = []
    seen = {}
    for lineno, (code, origin, cat, blame, meaning, causes, advice) in read_tsv(
            srcdir, "basic.tsv", 7, errors):
        where = "basic.tsv:%d" % lineno
        c = parse_int(code, 100, 599, where, "code", errors)
        if c is None:
            continue
        if c in seen:
            errors.append("%s: duplicate code %d (first at line %d)"
                          % (where, c, seen[c]))
            continue
        if not ORIGIN_RE.match(origin):
            errors.append("%s: origin %r must start with 'RFC n', 'vendor: ',"
                          " 'folk: ' or 'client pseudo-code'" % (where, origin))
            continue
        if (cat == "-") != (blame == "-"):
            errors.append("%s: category and blame must both be given or both be -"
                          % where)
            continue
        if cat != "-" and cat not in categories:
            errors.append("%s: unknown category %r" % (where, cat))
            continue
        if blame != "-" and blame not in BLAMES:
            errors.append("%s: unknown blame %r" % (where, blame))
            continue
        seen[c] = lineno
        out.append((c, origin, meaning, causes, advice,
                    None if cat == "-" else cat, None if blame == "-" else blame))
    out.sort()
    return out


def load_categories(srcdir, errors):
    """categories.tsv: category, default blame, meaning, cause, advice."""
    out = []
    seen = {}
    for lineno, (cat, blame, meaning, cause, advice) in read_tsv(
            srcdir, "categories.tsv", 5, errors):
        where = "categories.tsv:%d" % lineno
        if not re.fullmatch(r"[a-z][a-z0-9_]*", cat):
            errors.append("%s: bad category name %r" % (where, cat))
            continue
        if cat in seen:
            errors.append("%s: duplicate category %s (first at line %d)"
                          % (where, cat, seen[cat]))
            continue
        if blame not in BLAMES:
            errors.append("%s: unknown blame %r" % (where, blame))
            continue
        seen[cat] = lineno
        out.append((cat, blame, meaning, cause, advice))
    return out


def parse_detail_range(s, where, errors):
    m = re.fullmatch(r"([0-9]+)-([0-9]+)", s)
    if m:
        lo = parse_int(m.group(1), 0, 999, where, "detail", errors)
        hi = parse_int(m.group(2), 0, 999, where, "detail", errors)
        if lo is None or hi is None:
            return None
        if lo >= hi:
            errors.append("%s: empty detail range %s" % (where, s))
            return None
        return (lo, hi)
    v = parse_int(s, 0, 999, where, "detail", errors)
    return None if v is None else (v, v)


def load_enhanced(srcdir, categories, errors):
    """enhanced.tsv: subject, detail (n or lo-hi), reference, title, meaning,
    advice, vendor note (- for none), category (- for none), blame (-)."""
    exact = []
    ranges = []
    seen = {}
    for lineno, f in read_tsv(srcdir, "enhanced.tsv", 9, errors):
        subj, det, ref, title, meaning, advice, vnote, cat, blame = f
        where = "enhanced.tsv:%d" % lineno
        s = parse_int(subj, 0, 999, where, "subject", errors)
        d = parse_detail_range(det, where, errors)
        if s is None or d is None:
            continue
        if vnote == "-":
            vnote = None
        if (cat == "-") != (blame == "-"):
            errors.append("%s: category and blame must both be given or both be -"
                          % where)
            continue
        if cat != "-" and cat not in categories:
            errors.append("%s: unknown category %r" % (where, cat))
            continue
        if blame != "-" and blame not in BLAMES:
            errors.append("%s: unknown blame %r" % (where, blame))
            continue
        key = (s, d)
        if key in seen:
            errors.append("%s: duplicate key %s.%s (first at line %d)"
                          % (where, subj, det, seen[key]))
            continue
        seen[key] = lineno
        row = (s, d[0], d[1], title, meaning, advice, ref, vnote,
               None if cat == "-" else cat, None if blame == "-" else blame)
        if d[0] == d[1]:
            exact.append(row)
        else:
            ranges.append(row)
    # Ranges may nest (the narrowest wins at lookup) but must not overlap
    # partially, which would make lookup ambiguous.
    ranges.sort()
    for i, a in enumerate(ranges):
        for b in ranges[i + 1:]:
            if a[0] != b[0] or b[1] > a[2]:
                continue
            if not (b[2] <= a[2]):
                errors.append("enhanced.tsv: ranges %d.%d-%d and %d.%d-%d"
                              " overlap without nesting"
                              % (a[0], a[1], a[2], b[0], b[1], b[2]))
    exact.sort()
    return exact, ranges


def parse_list(s, allowed, where, what, errors):
    if s == "*":
        return []
    items = s.split(",")
    for it in items:
        if it not in allowed:
            errors.append("%s: unknown %s %r" % (where, what, it))
            return None
    if len(set(items)) != len(items):
        errors.append("%s: repeated %s in %r" % (where, what, s))
        return None
    return items


def load_patterns(srcdir, categories, errors):
    """patterns.tsv: id, strength, commands, classes, enhanced, category,
    blame, match, meaning, cause, advice."""
    out = []
    seen = {}
    for lineno, f in read_tsv(srcdir, "patterns.tsv", 11, errors):
        pid, strength, cmds, classes, enh, cat, blame, match, meaning, cause, advice = f
        where = "patterns.tsv:%d" % lineno
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", pid):
            errors.append("%s: bad id %r" % (where, pid))
            continue
        if pid in seen:
            errors.append("%s: duplicate id %s (first at line %d)"
                          % (where, pid, seen[pid]))
            continue
        if strength not in ("strong", "weak"):
            errors.append("%s: strength must be strong or weak" % where)
            continue
        cl = parse_list(cmds, COMMANDS, where, "command", errors)
        if cl is None:
            continue
        if classes != "*" and not re.fullmatch(r"[2345]+", classes):
            errors.append("%s: classes must be * or digits 2-5, not %r"
                          % (where, classes))
            continue
        enhs = []
        if enh != "*":
            ok = True
            for e in enh.split(","):
                m = re.fullmatch(r"([0-9]{1,3})\.([0-9]{1,3})", e)
                if not m:
                    errors.append("%s: enhanced restriction %r is not"
                                  " subject.detail" % (where, e))
                    ok = False
                    break
                enhs.append((int(m.group(1)), int(m.group(2))))
            if not ok:
                continue
            if len(enhs) > 4:
                errors.append("%s: at most 4 enhanced codes" % where)
                continue
        if cat not in categories:
            errors.append("%s: unknown category %r" % (where, cat))
            continue
        if blame not in BLAMES:
            errors.append("%s: unknown blame %r" % (where, blame))
            continue
        # The match language: alternatives split by '|', each a conjunction
        # of terms split by '&'; '%' at either end of a term asks for a word
        # boundary on that side.  Terms are matched case-insensitively.
        ok = True
        for alt in match.split("|"):
            for term in alt.split("&"):
                core = term.strip("%")
                if core == "" or term != term.strip() or "%" in core:
                    errors.append("%s: bad term %r in match" % (where, term))
                    ok = False
                if any(ord(ch) > 0x7e for ch in term):
                    errors.append("%s: non-ASCII term %r" % (where, term))
                    ok = False
        if not ok:
            continue
        seen[pid] = lineno
        out.append((pid, strength, cl, classes, enhs, cat, blame, match,
                    meaning, cause, advice))
    return out


def check_prose(name, rows, idxs, errors):
    """Explanations are sentences of our own: non-empty and bounded."""
    for row in rows:
        for i in idxs:
            v = row[i]
            if v is not None and len(v) > 600:
                errors.append("%s: entry %r field too long (%d chars)"
                              % (name, row[0], len(v)))


def category_enum(cat):
    return "CODES_CAT_" + cat.upper()


def emit_header(out, categories):
    w = out.append
    w("/* Generated by codes/gen_codes.py from codes/categories.tsv.")
    w(" * Do not edit: change the data file instead. */")
    w("#ifndef SMTPPROBE_CODES_CATEGORY_H")
    w("#define SMTPPROBE_CODES_CATEGORY_H")
    w("")
    w("/* The diagnoses codes_classify() can return (docs/CATEGORIES.md). */")
    w("enum codes_category {")
    for c in categories:
        w("\t%s," % category_enum(c[0]))
    w("\tCODES_CAT_COUNT")
    w("};")
    w("")
    w("#endif")


def emit(out, cmds, basic, categories, exact, ranges, patterns):
    w = out.append
    w("/* Generated by codes/gen_codes.py from the .tsv files in codes/.")
    w(" * Do not edit: change the data files instead. */")
    w("")
    w("static const struct codes_cmd_rule codes_cmd_rules[] = {")
    for cmd, code, mark, ref in cmds:
        c = "CODES_CMD_ANY" if cmd == "*" else "CODES_CMD_" + cmd
        w("\t{ %s, %d, %s, %s }," % (c, code, LEGALITY[mark], c_string(ref)))
    w("};")
    w("")
    catidx = {c[0]: category_enum(c[0]) for c in categories}
    w("static const struct codes_basic_row codes_basic_table[] = {")
    for code, origin, meaning, causes, advice, cat, blame in basic:
        if code < 200:
            perm = "CODES_NOT_A_REPLY"
        else:
            perm = ["CODES_SUCCESS", "CODES_INTERMEDIATE", "CODES_TRANSIENT",
                    "CODES_PERMANENT"][code // 100 - 2]
        w("\t{ { %d, %s,\n\t    %s,\n\t    %s,\n\t    %s,\n\t    %s },\n"
          "\t    %s, %s }," % (
              code, c_string(meaning), c_string(origin), c_string(causes),
              c_string(advice), perm, "-1" if cat is None else catidx[cat],
              "CODES_BLAME_NONE" if blame is None
              else "CODES_BLAME_" + blame.upper()))
    w("};")
    w("")
    w("static const struct codes_category_row "
      "codes_categories[CODES_CAT_COUNT] = {")
    for cat, blame, meaning, cause, advice in categories:
        w("\t[%s] = { %s, CODES_BLAME_%s,\n\t    %s,\n\t    %s,\n\t    %s },"
          % (catidx[cat], c_string(cat), blame.upper(), c_string(meaning),
             c_string(cause), c_string(advice)))
    w("};")
    w("")

    def enh_rows(name, rows, with_hi):
        w("static const struct codes_enhanced_row %s[] = {" % name)
        for (s, lo, hi, title, meaning, advice, ref, vnote, cat, blame) in rows:
            w("\t{ { %d, %d, %s,\n\t    %s,\n\t    %s,\n\t    %s,\n\t    %s },"
              "\n\t    %d, %s, %s }," % (
                  s, lo, c_string(title), c_string(meaning), c_string(advice),
                  c_string(ref), c_opt_string(vnote), hi,
                  "-1" if cat is None else catidx[cat],
                  "CODES_BLAME_NONE" if blame is None
                  else "CODES_BLAME_" + blame.upper()))
        if not rows:
            w("\t{ { 0, 0, NULL, NULL, NULL, NULL, NULL }, 0, -1, CODES_BLAME_NONE },")
        w("};")
        w("")
    enh_rows("codes_enhanced_table", exact, False)
    w("#define CODES_ENHANCED_EXACT %d" % len(exact))
    enh_rows("codes_enhanced_ranges", ranges, True)
    w("#define CODES_ENHANCED_RANGES %d" % len(ranges))
    w("")
    w("static const struct codes_pattern codes_patterns[] = {")
    for (pid, strength, cl, classes, enhs, cat, blame, match, meaning, cause,
         advice) in patterns:
        mask = " | ".join("CODES_CMDBIT(CODES_CMD_%s)" % c for c in cl) or "0"
        enh = ", ".join("{ %d, %d }" % e for e in enhs) or "{ 0, 0 }"
        w("\t{ %s, %d, %s, %s,\n\t    { %s }, %d, %s, CODES_BLAME_%s,\n"
          "\t    %s,\n\t    %s,\n\t    %s,\n\t    %s }," % (
              c_string(pid), 1 if strength == "strong" else 0, mask,
              c_string("" if classes == "*" else classes), enh, len(enhs),
              catidx[cat], blame.upper(), c_string(match), c_string(meaning),
              c_string(cause), c_string(advice)))
    w("};")
    w("")


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: gen_codes.py SRCDIR OUTPUT.c OUTPUT.h\n")
        return 2
    srcdir, output, header = argv[1], argv[2], argv[3]
    errors = []
    try:
        cmds = load_commands(srcdir, errors)
        categories = load_categories(srcdir, errors)
        catnames = {c[0] for c in categories}
        basic = load_basic(srcdir, catnames, errors)
        for needed in ("accepted", "unknown"):
            if needed not in catnames:
                errors.append("categories.tsv: category %r is required" % needed)
        exact, ranges = load_enhanced(srcdir, catnames, errors)
        patterns = load_patterns(srcdir, catnames, errors)
        check_prose("basic.tsv", basic, (2, 3, 4), errors)
        check_prose("patterns.tsv", patterns, (8, 9, 10), errors)
    except DataError as e:
        errors.append(str(e))
    if errors:
        return finish("gen_codes.py", errors, [])
    out, hdr = [], []
    emit(out, cmds, basic, categories, exact, ranges, patterns)
    emit_header(hdr, categories)
    return finish("gen_codes.py", errors, [(output, out), (header, hdr)])


def finish(prog, errors, outputs):
    """Report errors (nothing is written then) or write every (path,
    lines) of outputs, each through a temporary file; the exit status."""
    if errors:
        for e in errors:
            sys.stderr.write("%s: %s\n" % (prog, e))
        sys.stderr.write("%s: %d error(s); nothing written\n"
                         % (prog, len(errors)))
        return 1
    for path, lines in outputs:
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
