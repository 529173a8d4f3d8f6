"""The checks of the batch tests (tests/batch/*.py): the command line
they share (--binary, -v) and a list of failures, each printed as it is
found (every check with -v), and the last line PASS or FAIL."""

import argparse


def arguments(doc):
    """--binary PATH and -v, with the first line of doc as help."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args()


class Checks:
    """A list of failed checks."""

    def __init__(self, verbose):
        self.verbose = verbose
        self.failures = []

    def check(self, name, ok, detail=""):
        if not ok:
            self.failures.append("%s: %s" % (name, detail))
        if self.verbose or not ok:
            print("%s %s%s" % ("ok  " if ok else "FAIL", name,
                               "" if ok else ": " + detail))
        return ok

    def report(self):
        """The last line; the exit status."""
        print("%s: %d failure(s)" % ("PASS" if not self.failures else
                                     "FAIL", len(self.failures)))
        return 0 if not self.failures else 1
