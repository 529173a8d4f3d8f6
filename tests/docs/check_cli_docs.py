#!/usr/bin/env python3
"""Check that the manual page and the shell completions match --help.

    check_cli_docs.py --binary PATH [--root DIR] manpage
    check_cli_docs.py --binary PATH [--root DIR] completion

Both read the options that `smtpprobe --help` and `smtpprobe explain
--help` define: the names at the start of the lines of their option
lists ("  --from ADDR", "  -v, --verbose"), and every long option their
text mentions.

manpage: docs/smtpprobe.1 (mdoc) must have an item (`.It Fl ...`) under
OPTIONS for every option of --help, and one somewhere for every option of
`explain --help` and every long option --help mentions; every item under
OPTIONS, every `Fl` anywhere in the page and every long option in its
example blocks must be an option of one of the two.  When mandoc is
installed, `mandoc -T lint -W warning` must find nothing; when groff is,
rendering the page with `groff -mandoc -ww` (what man(1) does) must print
no warning.

completion: completion/smtpprobe.bash, sourced into bash without
bash-completion, must offer exactly the long options of --help after
"--", the long options starting with "--t" after "--t", the TLS modes
after --tls, the mechanisms after --auth-mech, `explain` as the first
word, explain's options after "explain --", its commands after
"explain --after", and file names after --batch, --ca-file and
--auth-password-file.  completion/_smtpprobe (zsh) must name every
option of both, and pass `zsh -n` when zsh is installed.

Prints what does not match; exit status 0 when everything agrees, 1
otherwise, 2 when a file or the binary cannot be used.  Standard
library only.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
OPTION_RE = re.compile(r"(?<![\w-])(--?[A-Za-z0-9][A-Za-z0-9-]*)")
LONG_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
# "  --from ADDR   text", "  -v, --verbose   text", "  --rcpt-per-connection K"
HELP_ITEM_RE = re.compile(r"^ {2,4}(-[^ ].*?)(?: {2,}|$)")
FL_RE = re.compile(r"\bFl\s+(-?[A-Za-z0-9][A-Za-z0-9-]*)")


class Help:
    """The options `smtpprobe --help` (or `explain --help`) prints."""

    def __init__(self, text):
        self.text = text
        self.defined = []
        for line in text.splitlines():
            match = HELP_ITEM_RE.match(line)
            if match:
                for name in OPTION_RE.findall(match.group(1)):
                    if name not in self.defined:
                        self.defined.append(name)
        self.mentioned = set(LONG_RE.findall(text))

    def long(self):
        return [o for o in self.defined if o.startswith("--")]


def run_help(binary, *args):
    proc = subprocess.run([binary, *args, "--help"], capture_output=True,
                          text=True, timeout=30, check=False)
    if proc.returncode != 0 or not proc.stdout:
        raise OSError("%s %s --help: exit status %d"
                      % (binary, " ".join(args), proc.returncode))
    return Help(proc.stdout)


class ManPage:
    """The options an mdoc page documents (items) and names (Fl)."""

    def __init__(self, text):
        self.items = {}          # section name -> [option, ...]
        self.flags = set()
        self.literal = set()
        section = None
        literal = False
        for line in text.splitlines():
            if line.startswith(".Sh "):
                section = line[4:].strip()
            if line.startswith(".Bd") and "-literal" in line:
                literal = True
                continue
            if line.startswith(".Ed"):
                literal = False
                continue
            if literal or line.startswith(".Dl "):
                self.literal.update(LONG_RE.findall(line))
                continue
            if not line.startswith("."):
                continue
            names = ["-" + a for a in FL_RE.findall(line)]
            self.flags.update(names)
            if line.startswith(".It ") and names:
                self.items.setdefault(section, []).extend(names)

    def all_items(self):
        return {o for names in self.items.values() for o in names}


def missing(what, names, where):
    for name in sorted(names):
        print("%s: %s %s" % (what, name, where))
    return not names


def lint_manpage(path):
    ok = True
    if shutil.which("mandoc"):
        proc = subprocess.run(["mandoc", "-T", "lint", "-W", "warning",
                               path], capture_output=True, text=True,
                              check=False)
        out = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0 or out:
            print("manpage: mandoc -T lint:\n%s" % out)
            ok = False
        else:
            print("manpage: mandoc -T lint: clean")
    else:
        print("manpage: mandoc not installed; lint skipped")
    if shutil.which("groff"):
        proc = subprocess.run(["groff", "-mandoc", "-Tutf8", "-ww", "-z",
                               path], capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0 or proc.stderr.strip():
            print("manpage: groff -mandoc -ww:\n%s" % proc.stderr.strip())
            ok = False
        else:
            print("manpage: groff -mandoc -ww: clean")
    return ok


def check_manpage(root, main, explain):
    path = os.path.join(root, "docs", "smtpprobe.1")
    with open(path, encoding="utf-8") as handle:
        page = ManPage(handle.read())
    options = set(page.items.get("OPTIONS", []))
    known = set(main.defined) | set(explain.defined)
    ok = missing("manpage", set(main.defined) - options,
                 "is in --help but has no item under OPTIONS in "
                 "docs/smtpprobe.1")
    ok = missing("manpage", (set(explain.defined) | main.mentioned |
                             explain.mentioned) - page.all_items(),
                 "is in --help but has no item in docs/smtpprobe.1") and ok
    ok = missing("manpage", options - set(main.defined),
                 "has an item under OPTIONS in docs/smtpprobe.1 but is "
                 "not in smtpprobe --help") and ok
    ok = missing("manpage", page.flags - known,
                 "is named in docs/smtpprobe.1 but is not in "
                 "--help") and ok
    ok = missing("manpage", page.literal - known,
                 "is used in an example of docs/smtpprobe.1 but is not "
                 "in --help") and ok
    ok = lint_manpage(path) and ok
    if ok:
        print("manpage: %d options of --help and %d of explain --help, "
              "all documented" % (len(main.defined), len(explain.defined)))
    return ok


BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


def complete(script, words, cwd, helpers):
    """What _smtpprobe offers for WORDS (the last one is completed), with
    bash-completion's helpers loaded or not."""
    shell = ('[ -n "$HELPERS" ] && source "$HELPERS"; source "$1"; shift; '
             'COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); '
             'COMP_POINT=${#COMP_LINE}; _smtpprobe; '
             'printf "%s\\n" "${COMPREPLY[@]}"')
    # The line as typed: "--tls=" is one word there, three in COMP_WORDS.
    env = dict(os.environ, HELPERS=helpers,
               COMP_LINE=" ".join(words).replace(" = ", "="))
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", shell,
                           "bash", script, *words], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=30,
                          check=False)
    if proc.returncode != 0 or proc.stderr:
        raise OSError("bash: %s" % proc.stderr.strip())
    return sorted(w for w in proc.stdout.splitlines() if w)


def expect(words, got, want):
    extra, lacking = set(got) - set(want), set(want) - set(got)
    if not extra and not lacking:
        return True
    print("completion: smtpprobe %s<TAB> offers %s too many, %s too few"
          % (" ".join(words), sorted(extra) or "none",
             sorted(lacking) or "none"))
    return False


def help_values(main, option, pattern):
    """The values --help lists for OPTION: "--tls MODE  a (default), b"."""
    match = re.search(r"^ +%s [A-Z]+ +(.*)$" % re.escape(option),
                      main.text, re.M)
    text = re.sub(r"\([^)]*\)", "", match.group(1)) if match else ""
    values = re.findall(pattern, text.split("(")[0])
    values = [v for v in values if v not in ("or", "default")]
    if not values:
        raise OSError("--help lists no values for %s" % option)
    return values


def explain_commands(explain):
    """The commands `explain --help` lists for --after."""
    match = re.search(r"^ +--after COMMAND.*?\((.*?)\)", explain.text,
                      re.M | re.S)
    if not match:
        raise OSError("explain --help lists no commands for --after")
    return re.findall(r"[A-Z]+", match.group(1))


def check_bash(root, main, explain):
    script = os.path.abspath(os.path.join(root, "completion",
                                          "smtpprobe.bash"))
    long_opts = main.long()
    tls_modes = help_values(main, "--tls", r"[a-z]+")
    cases = [
        (["smtpprobe", "--"], long_opts),
        (["smtpprobe", "--t"], [o for o in long_opts
                                if o.startswith("--t")]),
        (["smtpprobe", "user@example.com", "--"], long_opts),
        (["smtpprobe", "--tls", ""], tls_modes),
        (["smtpprobe", "--tls", "=", ""], tls_modes),
        (["smtpprobe", "--auth-mech", ""],
         help_values(main, "--auth-mech", r"[A-Z][A-Z0-9-]+")),
        (["smtpprobe", "ex"], ["explain"]),
        (["smtpprobe", "--json", "ex"], []),
        (["smtpprobe", "explain", "--"],
         [o for o in explain.long()]),
        (["smtpprobe", "explain", "--after", ""],
         explain_commands(explain)),
        (["smtpprobe", "--port", ""], []),
    ]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("list.txt", "ca.pem", "pass"):
            with open(os.path.join(tmp, name), "w", encoding="utf-8"):
                pass
        cases += [
            (["smtpprobe", "--batch", "li"], ["list.txt"]),
            (["smtpprobe", "--ca-file", "c"], ["ca.pem"]),
            (["smtpprobe", "--auth-password-file", "p"], ["pass"]),
        ]
        # Plain bash, and with bash-completion when it is installed.
        for helpers in [""] + ([BASH_COMPLETION] if
                               os.path.exists(BASH_COMPLETION) else []):
            for words, want in cases:
                ok = expect(words[1:], complete(script, words, tmp,
                                                helpers), want) and ok
    return ok


def check_zsh(root, main, explain):
    path = os.path.join(root, "completion", "_smtpprobe")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    named = set(re.findall(r"'(?:\([^)]*\))?\*?(--?[A-Za-z0-9][A-Za-z0-9-]*)"
                           r"[=\[]", text))
    for pair in re.findall(r"\{(-[^,}]+),(-[^}]+)\}", text):
        named.update(pair)
    ok = missing("completion", (set(main.defined) | set(explain.defined)) -
                 named, "is in --help but not in completion/_smtpprobe")
    ok = missing("completion", named - set(main.defined) -
                 set(explain.defined), "is in completion/_smtpprobe but "
                 "not in --help") and ok
    if shutil.which("zsh"):
        proc = subprocess.run(["zsh", "-n", path], capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            print("completion: zsh -n %s: %s" % (path, proc.stderr.strip()))
            ok = False
    return ok


def check_completion(root, main, explain):
    ok = check_bash(root, main, explain)
    ok = check_zsh(root, main, explain) and ok
    if ok:
        print("completion: bash and zsh offer the %d long options of "
              "--help" % len(main.long()))
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=ROOT, help="the source tree")
    parser.add_argument("--binary", required=True, help="smtpprobe")
    parser.add_argument("check", choices=("manpage", "completion"))
    opts = parser.parse_args(argv)
    try:
        main_help = run_help(opts.binary)
        explain_help = run_help(opts.binary, "explain")
        if not main_help.long() or not explain_help.long():
            raise OSError("no options found in --help")
        ok = (check_manpage if opts.check == "manpage"
              else check_completion)(opts.root, main_help, explain_help)
    except (OSError, subprocess.SubprocessError) as exc:
        print("check_cli_docs: %s" % exc)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
