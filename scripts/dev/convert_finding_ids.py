#!/usr/bin/env python3
"""convert_finding_ids.py — turn finding ids (and reasons, categories,
blames) written as strings into enums.

    scripts/dev/convert_finding_ids.py [--check] [FILE.c ...]

Rewrites, in the given C files (default: every probe/*/*.c), the finding
ids written as string literals into the enum names of probe/findings.tsv:

  * result_finding(r, "x.y", SEV_S, st, "ref", ev, fmt, ...) becomes
    result_finding(r, FINDING_X_Y, st, ev, fmt, ...) when SEV_S and "ref"
    are the row's severity and reference (NULL for -); otherwise
    result_finding_sev(r, FINDING_X_Y, SEV_S, st, "ref", ev, fmt, ...),
    which keeps them;
  * an id chosen at run time, cond ? "a.x" : "a.y", becomes
    cond ? FINDING_A_X : FINDING_A_Y; a severity written as the same
    cond ? SEV_A : SEV_B counts as the table's when it gives each id its
    row's severity;
  * result_has_finding(r, "x.y") takes FINDING_X_Y;
  * strcmp(E.id, "x.y") == 0 (or != 0), E.id being a finding's id, becomes
    E.id == FINDING_X_Y (or !=).

It does the same for the other words that became enums: categories
(codes/categories.tsv: CODES_CAT_*, probe/stage_categories.tsv:
DIAG_CAT_*), blames (CODES_BLAME_*), permanences (CODES_SUCCESS, ...) and
reasons (probe/reasons.tsv: REASON_*):

  * strcmp(E.category, "word") == 0 and the same for E.blame and E.reason;
  * the word arguments of expl_set(), verdict() and emit_unfinished(),
    and codes_blame_name(X) / codes_permanence_name(X) given to
    expl_set() as X;
  * snprintf(E.reason, sizeof(E.reason), "word") as E.reason =
    REASON_WORD, and snprintf(E.reason, sizeof(E.reason), "%s", X) as
    E.reason = X;
  * E.category = "" as CODES_CAT_UNKNOWN;
  * a few edits that follow no pattern (HUNKS below: diag.c's expl_set()
    now in result.c, verdict() taking enum reason, batch.c counting
    reasons by enum, probe.c adding MX hosts and attempts through
    result_add_mx() and result_add_attempt()), applied where their old
    text is found and reported where neither the old nor the new text
    is.

A call that is rewritten is laid out again in the house style: 80
columns, tabs 8 wide, continuation lines 4 spaces deeper, string
literals split after a space.  Calls already converted are left alone,
so the script can be run again on a tree that changed meanwhile.  An id
missing from findings.tsv is an error: add its row first.

With --check nothing is written; the exit status is 1 when some file
would change.  Standard library only.
"""

import argparse
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
COLUMNS = 80
MIN_PIECE = 12
ID_RE = r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+"
# enum codes_blame and enum codes_permanence (codes/codes.h).
BLAMES = ["none", "recipient_address", "recipient_mailbox", "sender_address",
          "sender_authentication", "client_ip_reputation", "client_identity",
          "client_auth_tls", "relay_policy", "content", "rate_limit",
          "server", "protocol"]
PERMANENCES = ["success", "intermediate", "transient", "permanent",
               "not_a_reply"]


class ConvertError(Exception):
    pass


# ---- the tables ----------------------------------------------------------

def read_rows(path, nfields):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != nfields:
                raise ConvertError("%s: malformed row %r" % (path, line))
            rows.append(fields)
    return rows


class Tables:
    def __init__(self, root):
        self.findings = {}
        for fid, enum, sev, _stage, ref, _meaning in read_rows(
                os.path.join(root, "probe", "findings.tsv"), 6):
            self.findings[fid] = (enum, "SEV_" + sev.upper(),
                                  None if ref == "-" else ref)
        self.reasons = {r[0]: r[1] for r in read_rows(
            os.path.join(root, "probe", "reasons.tsv"), 4)}
        self.categories = {r[0]: "CODES_CAT_" + r[0].upper()
                           for r in read_rows(os.path.join(
                               root, "codes", "categories.tsv"), 5)}
        self.categories.update({r[0]: r[1] for r in read_rows(
            os.path.join(root, "probe", "stage_categories.tsv"), 3)})
        self.blames = {b: "CODES_BLAME_" + b.upper() for b in BLAMES}
        self.permanences = {p: "CODES_" + p.upper() for p in PERMANENCES}

    def word(self, kind, word, where):
        table = {"reason": self.reasons, "category": self.categories,
                 "blame": self.blames, "permanence": self.permanences}[kind]
        if word not in table:
            raise ConvertError("%s: %s %r is in no table" % (where, kind, word))
        return table[word]

    def finding(self, fid, where):
        if fid not in self.findings:
            raise ConvertError("%s: finding id %r is in no table: add it "
                               "to probe/findings.tsv" % (where, fid))
        return self.findings[fid]


# ---- C text --------------------------------------------------------------

def skip_literal(s, i):
    """s[i] opens a string or character literal; the index after it."""
    q = s[i]
    i += 1
    while i < len(s) and s[i] != q:
        i += 2 if s[i] == "\\" else 1
    return i + 1


def split_args(s, i):
    """s[i] is just after '('.  ([arg text, ...], index of the ')')."""
    depth, start, args = 0, i, []
    while i < len(s):
        c = s[i]
        if c in "\"'":
            i = skip_literal(s, i)
            continue
        if s.startswith("/*", i) or s.startswith("//", i):
            raise ConvertError("comment inside a call")
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                args.append(s[start:i])
                return args, i
            depth -= 1
        elif c == "," and depth == 0:
            args.append(s[start:i])
            start = i + 1
        i += 1
    raise ConvertError("unbalanced call")


def norm(text):
    """Text of an expression with its blanks outside literals squeezed."""
    return " ".join(pieces(text))


def pieces(text):
    """Split an expression at blanks outside literals; adjacent string
    literals stay separate pieces."""
    out, cur, i = [], "", 0
    while i < len(text):
        c = text[i]
        if c in "\"'":
            j = skip_literal(text, i)
            if c == '"' and cur == "":
                out.append(text[i:j])
            else:
                cur += text[i:j]
            i = j
            continue
        if c.isspace():
            if cur:
                out.append(cur)
                cur = ""
        else:
            cur += c
        i += 1
    if cur:
        out.append(cur)
    return out


def literal(text):
    """The content of text when it is one string literal, else None."""
    t = text.strip()
    if len(t) >= 2 and t[0] == '"' and skip_literal(t, 0) == len(t):
        return t[1:-1]
    return None


TERNARY_RE = re.compile(r'^(.*?)\s*\?\s*"(%s)"\s*:\s*"(%s)"$' % (ID_RE, ID_RE),
                        re.S)
SEV_TERNARY_RE = re.compile(r"^(.*?)\s*\?\s*(SEV_[A-Z]+)\s*:\s*(SEV_[A-Z]+)$",
                            re.S)


def width(line):
    return len(line.expandtabs(8))


def split_string(content, room):
    """Where to cut string content (after a space, never inside an escape)
    so that the first part is at most room characters; None when no cut
    fits."""
    best = None
    for m in re.finditer(r" (?=.)", content):
        if m.end() <= room:
            best = m.end()
        else:
            break
    return best


def mergeable(a):
    """May the string literal content a be joined with the next one?  Not
    after an escape the next characters could extend."""
    return not re.search(r"\\(x[0-9A-Fa-f]*|[0-7]{1,2})$", a)


def layout(prefix, items, suffix):
    """Lay out items (words, and ('str', content) for string literals)
    after prefix; suffix ends the last line.  Returns the lines."""
    indent = re.match(r"[\t ]*", prefix).group(0)
    cont = indent if indent.endswith("    ") else indent + "    "
    lines, cur, fresh = [], prefix, True
    # Adjacent string literals are one run, laid out anew.
    merged = []
    for it in items:
        if (isinstance(it, tuple) and merged and isinstance(merged[-1], tuple)
                and merged[-1][2] == "" and mergeable(merged[-1][1])):
            merged[-1] = ("str", merged[-1][1] + it[1], it[2])
        else:
            merged.append(it)
    for n, it in enumerate(merged):
        last = n == len(merged) - 1
        tail = suffix if last else ""
        if not isinstance(it, tuple):
            word = it + tail
            sep = "" if fresh else " "
            if not fresh and width(cur + sep + word) > COLUMNS:
                lines.append(cur)
                cur, sep = cont, ""
            cur += sep + word
            fresh = False
            continue
        content, after = it[1], it[2] + tail
        while True:
            sep = "" if fresh else " "
            whole = cur + sep + '"' + content + '"' + after
            if width(whole) <= COLUMNS:
                cur, fresh = whole, False
                break
            room = COLUMNS - width(cur + sep) - 2
            cut = split_string(content, room)
            if cut is None or (cut < MIN_PIECE and not fresh):
                # Start the string on a line of its own rather than
                # leave a stub of a few letters at the end of this one.
                if not fresh and cur != cont:
                    lines.append(cur)
                    cur, fresh = cont, True
                    continue
                cut = split_string(content, len(content))
                if cut is None:
                    cur, fresh = whole, False
                    break
            lines.append(cur + sep + '"' + content[:cut] + '"')
            content = content[cut:]
            cur, fresh = cont, True
    lines.append(cur)
    return lines


BINARY_OPS = {"==", "!=", "<", ">", "<=", ">=", "&&", "||", "?", ":", "+",
              "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "="}


def items_of(text):
    """Layout items for C text: words, and ('str', content, end) for
    string literals; punctuation and binary operators stick to the item
    before them."""
    items = []
    for p in pieces(text):
        lit = literal(p)
        glue = None
        if items and p in BINARY_OPS:
            glue = " " + p        # a line never starts with one (KNF)
        elif items and p[0] in ",);":
            glue = p
        if glue is not None:
            prev = items[-1]
            items[-1] = (prev[0], prev[1], prev[2] + glue) \
                if isinstance(prev, tuple) else prev + glue
        elif lit is not None:
            items.append(("str", lit, ""))
        else:
            items.append(p)
    return items


def relay(src, start, end, text):
    """Replace src[start:end] by text laid out in place; the rest of the
    last line follows it."""
    ls = src.rfind("\n", 0, start) + 1
    le = src.find("\n", end)
    if le < 0:
        le = len(src)
    lines = layout(src[ls:start], items_of(text), src[end:le])
    return src[:ls] + "\n".join(lines) + src[le:]


def relay_call(src, m, args, close, new, name=None):
    """The call at m (arguments args, its ')' at close) with the arguments
    new, and the name name when given.  When only some arguments changed
    in place, the lines after the last of them keep their layout."""
    head = (name or m.group(1)) + "("
    changed = [i for i, (a, b) in enumerate(zip(args, new)) if a != b]
    if name is not None or len(new) != len(args) or \
            max(changed) == len(args) - 1:
        return relay(src, m.start(), close + 1,
                     head + ", ".join(new) + ")")
    last = max(changed)
    end = m.end() + sum(len(a) + 1 for a in args[:last + 1]) - 1
    le = src.find("\n", end)
    ls = src.rfind("\n", 0, m.start()) + 1
    items = items_of(head + ", ".join(new[:last + 1]) + ",")
    # The rest of the line moves as it is, to a line of its own when it
    # no longer fits: its strings go on on the next line.
    rest = src[end + 1:le].strip()
    if rest:
        items.append(rest)
    lines = layout(src[ls:m.start()], items, "")
    return src[:ls] + "\n".join(lines) + src[le:]


def convert_finding_call(src, m, tables, where):
    """The result_finding call at m, converted; None when it has no id
    literal."""
    name = m.group(1)
    args, close = split_args(src, m.end())
    idarg = args[1].strip()
    lit = literal(idarg)
    tern = TERNARY_RE.match(idarg)
    if lit is None and tern is None:
        return None
    if name == "result_has_finding":
        new = [args[0], tables.finding(lit, where)[0]] if lit else None
        if new is None:
            new = [args[0], "%s ? %s : %s" % (
                norm(tern.group(1)), tables.finding(tern.group(2), where)[0],
                tables.finding(tern.group(3), where)[0])]
        return relay_call(src, m, args, close, new)
    ids = [lit] if lit else [tern.group(2), tern.group(3)]
    rows = [tables.finding(i, where) for i in ids]
    enum = rows[0][0] if lit else "%s ? %s : %s" % (
        norm(tern.group(1)), rows[0][0], rows[1][0])
    if name == "result_finding_sev" or len(args) < 7:
        # Already in the new argument order: only the id changes.
        new = [args[0], enum] + args[2:]
        return relay_call(src, m, args, close, new)
    sev, ref = norm(args[2]), args[4].strip()
    if lit:
        sev_ok = sev == rows[0][1]
    else:
        st = SEV_TERNARY_RE.match(sev)
        sev_ok = (sev == rows[0][1] == rows[1][1]) or (
            st is not None and norm(st.group(1)) == norm(tern.group(1))
            and st.group(2) == rows[0][1] and st.group(3) == rows[1][1])
    reflit = literal(ref)
    ref_ok = all((r[2] is None and ref == "NULL") or
                 (r[2] is not None and reflit == r[2]) for r in rows)
    if sev_ok and ref_ok:
        new = [args[0], enum, args[3]] + args[5:]
        fname = "result_finding"
    else:
        new = [args[0], enum] + args[2:]
        fname = "result_finding_sev"
    return relay_call(src, m, args, close, new, fname)


FINDING_CALL_RE = re.compile(
    r"\b(result_finding|result_finding_sev|result_has_finding)\s*\(")
STRCMP_RE = re.compile(r"\bstrcmp\s*\(")


def strcmp_enum(lhs, lit, tables, where):
    """The enum a string field compared with strcmp() stands for, or None
    when lhs is no such field."""
    field = re.search(r"(?:\.|->)(id|category|blame|reason)$", lhs)
    if field is None:
        return None
    if field.group(1) == "id":
        if not re.fullmatch(ID_RE, lit):
            return None
        return tables.finding(lit, where)[0]
    return tables.word(field.group(1), lit, where)


def convert_strcmp(src, m, tables, where):
    """strcmp(E.f, "word") ==/!= 0 at m, f a finding's id, a category, a
    blame or a reason, converted; None when it is not such a comparison."""
    args, close = split_args(src, m.end())
    if len(args) != 2:
        return None
    lhs, lit = norm(args[0]), literal(args[1])
    rest = re.match(r"\s*(==|!=)\s*0\b", src[close + 1:close + 40])
    if lit is None or rest is None:
        return None
    enum = strcmp_enum(lhs, lit, tables, where)
    if enum is None:
        return None
    end = close + 1 + rest.end()
    return relay(src, m.start(), end, "%s %s %s" % (lhs, rest.group(1), enum))


def word_arg(kind, arg, tables, where):
    """A "word" argument (or cond ? "a" : "b") as its enum; an enum
    argument written as codes_KIND_name(X) as X; None when neither."""
    lit = literal(arg)
    if lit is not None:
        return tables.word(kind, lit, where)
    tern = re.match(r'^(.*?)\s*\?\s*"(\w+)"\s*:\s*"(\w+)"$', arg.strip(),
                    re.S)
    if tern is not None:
        return "%s ? %s : %s" % (norm(tern.group(1)),
                                 tables.word(kind, tern.group(2), where),
                                 tables.word(kind, tern.group(3), where))
    name = re.match(r"^codes_%s_name\s*\((.*)\)$" % kind, arg.strip(), re.S)
    if name is not None and kind in ("blame", "permanence"):
        return norm(name.group(1))
    return None


# Calls whose arguments name a reason, a category, a blame or a
# permanence: function -> {argument index: kind}.
WORD_CALLS = {
    "expl_set": {1: "category", 2: "blame", 3: "permanence"},
    "verdict": {2: "reason"},
    "emit_unfinished": {2: "reason"},
}
WORD_CALL_RE = re.compile(r"\b(%s)\s*\(" % "|".join(WORD_CALLS))


def convert_word_call(src, m, tables, where):
    """A call of WORD_CALLS with its word arguments as enums; None when
    none is a word."""
    if re.match(r"\s*(static|void|const|enum|struct)\b",
                src[src.rfind("\n", 0, m.start()) + 1:m.start()] or " x"):
        return None
    args, close = split_args(src, m.end())
    new, changed = list(args), False
    for i, kind in WORD_CALLS[m.group(1)].items():
        if i < len(args):
            conv = word_arg(kind, args[i], tables, where)
            if conv is not None:
                new[i], changed = conv, True
    if not changed:
        return None
    return relay_call(src, m, args, close, new)


SNPRINTF_RE = re.compile(r"\bsnprintf\s*\(")


def convert_reason_snprintf(src, m, tables, where):
    """snprintf(E.reason, sizeof(E.reason), "word") as E.reason =
    REASON_WORD, and with "%s", X as E.reason = X."""
    args, close = split_args(src, m.end())
    lhs = norm(args[0])
    if not re.search(r"(\.|->)reason$", lhs) or len(args) not in (3, 4) or \
            norm(args[1]) not in ("sizeof(%s)" % lhs, "sizeof %s" % lhs):
        return None
    fmt = literal(args[2])
    if len(args) == 3 and fmt is not None:
        value = tables.word("reason", fmt, where)
    elif len(args) == 4 and fmt == "%s":
        value = norm(args[3])
    else:
        return None
    return relay(src, m.start(), close + 1, "%s = %s" % (lhs, value))


EMPTY_CATEGORY_RE = re.compile(r'\b([\w.>\[\]-]+(?:\.|->)category)\s*=\s*""')


def convert_empty_category(src, m, tables, where):
    """E.category = "" (a placeholder) as CODES_CAT_UNKNOWN."""
    return src[:m.start()] + m.group(1) + " = CODES_CAT_UNKNOWN" + \
        src[m.end():]


CONVERSIONS = (
    (FINDING_CALL_RE, convert_finding_call),
    (STRCMP_RE, convert_strcmp),
    (WORD_CALL_RE, convert_word_call),
    (SNPRINTF_RE, convert_reason_snprintf),
    (EMPTY_CATEGORY_RE, convert_empty_category),
)


def convert_source(src, tables, path):
    for regex, fn in CONVERSIONS:
        pos = 0
        while True:
            m = regex.search(src, pos)
            if m is None:
                break
            where = "%s:%d" % (path, src.count("\n", 0, m.start()) + 1)
            try:
                new = fn(src, m, tables, where)
            except ConvertError as e:
                if "in no table" in str(e):
                    raise
                sys.stderr.write("%s: left alone: %s\n" % (where, e))
                new = None
            if new is None:
                pos = m.end()
            else:
                src = new
                pos = m.start()
    return src


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=ROOT, help="the source tree")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a file would change")
    parser.add_argument("files", nargs="*")
    opts = parser.parse_args(argv)
    files = opts.files or sorted(glob.glob(os.path.join(opts.root, "probe",
                                                        "*", "*.c")))
    try:
        tables = Tables(opts.root)
        changed = []
        for path in files:
            with open(path, encoding="utf-8") as f:
                src = f.read()
            new = convert_source(src, tables, os.path.relpath(path))
            if new != src:
                changed.append(path)
                if not opts.check:
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(new)
    except (ConvertError, OSError) as e:
        sys.stderr.write("convert_finding_ids.py: %s\n" % e)
        return 2
    for path in changed:
        print(("would convert " if opts.check else "converted ")
              + os.path.relpath(path))
    return 1 if opts.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
