#!/usr/bin/env python3
"""gen_schema.py — write the JSON Schemas of smtpprobe's JSON documents.

    scripts/gen_schema.py [--root DIR]           write docs/schema/*.json
    scripts/gen_schema.py [--root DIR] --check   compare, write nothing

One JSON Schema (draft 2020-12) per kind of document smtpprobe prints
(docs/REPORT-FORMAT.md, "Versioned JSON"):

    probe.schema.json       a probe's report (--json, one per address)
    batch-line.schema.json  one line of --batch --json
    explain.schema.json     one object of `smtpprobe explain --json`
    helo-test.schema.json   the --helo-test report
    relay-test.schema.json  the --relay-test report

Each file stands alone (its shared parts are repeated under $defs), so
that any validator can use it without fetching another.  The closed sets
come from the data files the program itself is built from: finding ids
(probe/findings.tsv), reasons and the verdict each goes with
(probe/reasons.tsv), categories (codes/categories.tsv and
probe/stage_categories.tsv), stage names (probe/gen_tables.py); the
"schema" value is JSON_SCHEMA of probe/output/json.h.  The other word lists
below follow the C functions named beside them.

--check (ctest docs.schema) exits 1 and names the files that differ from
what would be written, so a change to a data file without regenerating
the schemas fails the tests; every scenario validates the program's
actual output against the files (tests/harness/run_scenario.py).
Standard library only.
"""

import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "codes"))
sys.path.insert(0, os.path.join(ROOT, "probe"))
from gen_codes import DataError, read_tsv  # noqa: E402
from gen_tables import STAGES, SEVERITIES, VERDICTS  # noqa: E402

DRAFT = "https://json-schema.org/draft/2020-12/schema"

# stage_status_name() (result.c)
STAGE_STATUSES = ["skipped", "ok", "warn", "fail", "not_asked"]
# session_outcome_name() (result.c); attempts also say skipped_stalled
OUTCOMES = ["none", "connect_failed", "connect_timeout", "greeting_rejected",
            "greeting_temporary", "tls_retry_plain", "tls_required_failed",
            "helo_rejected", "answered", "timeout", "lost", "protocol_error",
            "local_error", "auth_failed", "proxy_failed"]
# resolver_status_name() (resolver/resolver.c)
DNS_STATUSES = ["ok", "nodata", "nxdomain", "servfail", "refused", "timeout",
                "badresp", "cancelled", "error"]
# codes_legality_name(), codes_permanence_name(), codes_blame_name()
# (codes/codes.c)
LEGALITIES = ["legal", "legal_extension", "common", "illegal"]
PERMANENCES = ["success", "intermediate", "transient", "permanent",
               "not_a_reply"]
BLAMES = ["none", "recipient_address", "recipient_mailbox", "sender_address",
          "sender_authentication", "client_ip_reputation", "client_identity",
          "client_auth_tls", "relay_policy", "content", "rate_limit",
          "server", "protocol", "proxy"]
# reply_deviation_name() (probe/core/reply.c)
DEVIATIONS = ["bare_lf", "line_too_long", "mixed_codes", "bad_separator",
              "control_characters", "enhanced_class_mismatch",
              "code_out_of_range", "truncated", "malformed"]
# ident_check_name() (probe/core/identity.c)
IDENT_CHECKS = ["yes", "no", "unknown", "unchecked"]
# helotest_kind_name(), helotest_status_name() (probe/core/helofacts.c)
HELO_KINDS = ["configured", "fqdn", "address_literal", "localhost",
              "unqualified", "unresolvable", "server_name"]
THREE_WAY = ["accepted", "rejected", "unknown"]
# relaytest_variant_name(), relaytest_status_name() (probe/core/relayfacts.c)
RELAY_VARIANTS = ["plain", "percent_hack", "bang_path", "quoted",
                  "source_route"]
RELAY_STATUSES = ["unknown", "accepted", "refused"]
# relaytest_domain_source_name() (probe/core/relayfacts.c)
RELAY_DOMAIN_SOURCES = ["target", "option", "greeting", "server"]
# codes_cmd_name() (codes/codes.c): what a reply answers
COMMANDS = ["GREETING", "EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT",
            "DATA", "BDAT", "RSET", "VRFY", "EXPN", "HELP", "NOOP", "QUIT"]
# socks_method_name(), socks_rep_name() (probe/core/socks.c)
SOCKS_METHODS = ["none", "username_password", "no_acceptable_method",
                 "other"]
SOCKS_REPLIES = ["succeeded", "general_failure", "not_allowed",
                 "network_unreachable", "host_unreachable",
                 "connection_refused", "ttl_expired", "command_not_supported",
                 "address_type_not_supported", "unassigned"]
# dane_state_name() (probe/core/result.c): an MX host's TLSA look-up
DANE_STATES = ["not_looked_up", "lookup_failed", "no_tlsa", "unauthenticated",
               "unusable", "usable", "match", "mismatch"]
# mtasts_state_name(), mtasts_mode_name() (probe/core/mtasts_facts.c)
MTASTS_STATES = ["not_looked_up", "lookup_failed", "no_record",
                 "record_invalid", "not_fetched", "fetch_failed",
                 "policy_invalid", "policy"]
MTASTS_MODES = ["enforce", "testing", "none"]
# The stages --quit-after takes (cli.c).
QUIT_AFTER = ["connect", "greeting", "ehlo", "tls", "auth", "mail", "rcpt"]
# The exit status of one address (diag.c): REPORT-FORMAT.md "Exit status".
ADDRESS_EXITS = [0, 1, 2, 3, 65, 70]

STR = {"type": "string"}
BOOL = {"type": "boolean"}
COUNT = {"type": "integer", "minimum": 0}
MS = {"type": ["number", "null"], "minimum": 0}
PORT = {"type": "integer", "minimum": 0, "maximum": 65535}


def nullable(schema):
    """schema, or null."""
    out = dict(schema)
    if "$ref" in out:
        return {"anyOf": [{"type": "null"}, schema]}
    types = out.get("type", [])
    types = types if isinstance(types, list) else [types]
    out["type"] = types + ["null"]
    if "enum" in out:
        out["enum"] = out["enum"] + [None]
    return out


NSTR = nullable(STR)
TRI = nullable(BOOL)


def enum(values, null=False):
    schema = {"type": "string", "enum": list(values)}
    return nullable(schema) if null else schema


def closed(props, optional=()):
    """An object with exactly these keys, all required but optional."""
    return {"type": "object", "properties": props,
            "required": [k for k in props if k not in optional],
            "additionalProperties": False}


def array(items, **extra):
    out = {"type": "array", "items": items}
    out.update(extra)
    return out


def ref(name):
    return {"$ref": "#/$defs/" + name}


class Data:
    """The closed sets read from the project's data files."""

    def __init__(self, root):
        errors = []
        probe = os.path.join(root, "probe")
        codes = os.path.join(root, "codes")
        self.findings = [f[0] for _n, f in read_tsv(probe, "findings.tsv",
                                                    6, errors)]
        self.reasons = [(f[0], f[2]) for _n, f in read_tsv(
            probe, "reasons.tsv", 4, errors)]
        self.categories = [f[0] for _n, f in read_tsv(
            codes, "categories.tsv", 5, errors)]
        self.stage_categories = [f[0] for _n, f in read_tsv(
            probe, "stage_categories.tsv", 3, errors)]
        if errors:
            raise SystemExit("gen_schema.py: %s" % "; ".join(errors))
        with open(os.path.join(probe, "output", "json.h"), encoding="utf-8") as handle:
            match = re.search(r'#define\s+JSON_SCHEMA\s+"([^"]+)"',
                              handle.read())
        if match is None:
            raise SystemExit("gen_schema.py: no JSON_SCHEMA in probe/output/json.h")
        self.version = match.group(1)


# -- the parts ----------------------------------------------------------------

def reply_def():
    return closed({
        "command": NSTR,
        "code": {"type": "integer", "minimum": 0, "maximum": 999},
        "enhanced": nullable({"type": "string",
                              "pattern": r"^[245]\.[0-9]{1,3}\.[0-9]{1,3}$"}),
        "lines": array(STR),
        "elapsed_ms": MS,
        "legality": enum(LEGALITIES),
        "deviations": array(enum(DEVIATIONS)),
    })


def finding_def(data, authenticated=False):
    props = {
        "id": enum(data.findings),
        "severity": enum(SEVERITIES),
        "stage": enum(STAGES),
        "message": STR,
        "evidence": NSTR,
        "ref": NSTR,
    }
    if authenticated:
        props["authenticated"] = BOOL
    return closed(props)


def explanation_def(data):
    return closed({
        "meaning": STR,
        "cause": NSTR,
        "action": NSTR,
        "category": enum(data.categories + data.stage_categories),
        "blame": enum(BLAMES),
        "permanence": enum(PERMANENCES),
    })


def stage_def():
    return closed({
        "name": enum(STAGES),
        "status": enum(STAGE_STATUSES),
        "elapsed_ms": MS,
        "error": STR,
        "replies": array(ref("reply"), minItems=1),
        "explanation": ref("explanation"),
    }, optional=("elapsed_ms", "error", "replies", "explanation"))


def rdns_def():
    return nullable(closed({
        "ip": STR,
        "status": enum(DNS_STATUSES),
        "names": array(STR),
        "names_valid": TRI,
        "forward_confirmed": TRI,
        "confirmed_name": NSTR,
        "check": enum(IDENT_CHECKS),
    }))


def identity_def():
    server = closed({
        "host": NSTR, "ip": NSTR, "local_ip": NSTR, "ptr": ref("rdns"),
        "banner_name": NSTR, "ehlo_name": NSTR, "client_ip_seen": NSTR,
        "banner_valid": TRI, "banner_matches_ptr": TRI,
        "banner_matches_mx": TRI, "ptr_matches_mx": TRI,
        "ehlo_matches_banner": TRI,
    })
    helo = closed({
        "name": NSTR, "literal": BOOL, "fqdn": BOOL,
        "status": enum(DNS_STATUSES, null=True), "addresses": array(STR),
        "resolves": TRI, "matches_ip": TRI, "matches_ptr": TRI,
    })
    client = closed({
        "source_ip": NSTR, "local_ip": NSTR, "local_private": BOOL,
        "public_ip": NSTR, "checked_ip": NSTR, "ptr": ref("rdns"),
        "helo": helo,
    })
    return closed({"servers": array(server), "client": client})


def probe_props(data):
    """The keys of a probe object, in the order the program writes them."""
    byte = {"type": "integer", "minimum": 0, "maximum": 255}
    cert = closed({
        "subject": NSTR, "issuer": NSTR, "names": NSTR, "not_before": NSTR,
        "not_after": NSTR, "days_left": {"type": "integer"},
        "key_type": NSTR, "key_bits": {"type": "integer"},
        "key_group": NSTR, "signature_algorithm": NSTR,
        "sha1_signature": BOOL, "self_signed": BOOL, "sha256": NSTR,
        "spki_sha256": NSTR,
    })
    tls = nullable(closed({
        "implicit": BOOL, "version": NSTR, "cipher": NSTR, "resumed": BOOL,
        "verified": BOOL,
        "chain_ok": BOOL, "verify_error": NSTR, "name_match": TRI,
        "wildcard_mismatch": NSTR, "expired": BOOL, "subject": NSTR,
        "issuer": NSTR, "names": NSTR, "not_before": NSTR, "not_after": NSTR,
        "ocsp_stapled": BOOL, "chain": array(cert), "chain_not_kept": COUNT,
        "dane": nullable(closed({
            "state": enum(["match", "mismatch"]), "usable_records": COUNT,
            "matched": nullable(closed({
                "usage": byte, "selector": byte, "matching_type": byte,
                "data": STR, "depth": {"type": "integer"},
            })),
        })),
    }))
    mta_sts = nullable(closed({
        "state": enum(MTASTS_STATES), "record": NSTR, "id": NSTR,
        "url": NSTR, "http_status": nullable({"type": "integer"}),
        "detail": NSTR,
        "policy": nullable(closed({
            "valid": BOOL, "error": NSTR,
            "mode": enum(MTASTS_MODES, null=True),
            "max_age": nullable(COUNT), "mx": array(STR),
            "mx_not_kept": COUNT,
        })),
    }))
    tls_rpt = {"anyOf": [{"type": "null"}, closed({
        "record": STR, "valid": {"const": True}, "rua": STR,
    }), closed({
        "record": STR, "valid": {"const": False}, "error": STR,
    })]}
    ehlo = nullable(closed({
        "name": NSTR, "keywords": array(STR), "starttls": BOOL,
        "smtputf8": BOOL, "pipelining": BOOL, "size": nullable(COUNT),
        "auth": NSTR,
    }))
    mx = closed({
        "preference": COUNT, "host": STR, "status": enum(DNS_STATUSES),
        "addresses": array(STR), "cname": NSTR, "is_ip": BOOL,
        "dane": closed({
            "state": enum(DANE_STATES), "records": COUNT, "tlsa": NSTR,
            "detail": NSTR,
        }),
        "mta_sts": closed({"in_policy": TRI, "tls_ok": TRI}),
    })
    dns = closed({
        "status": enum(DNS_STATUSES, null=True), "implicit_mx": BOOL,
        "null_mx": BOOL, "cname": NSTR, "mx": array(mx),
    })
    attempt = closed({
        "host": NSTR, "ip": NSTR, "port": PORT,
        "outcome": enum(OUTCOMES + ["skipped_stalled"]), "detail": NSTR,
    })
    transcript = closed({
        "t_ms": MS, "dir": enum(["send", "recv", "early", "info"]), "text": STR,
    })
    # Every stage in order; "proxy" only with --proxy.
    stages = {"anyOf": [{
        "type": "array",
        "prefixItems": [{"$ref": "#/$defs/stage",
                         "properties": {"name": {"const": s}}}
                        for s in names],
        "items": False,
        "minItems": len(names),
    } for names in ([s for s in STAGES if s != "proxy"], STAGES)]}
    proxy = closed({
        "url": STR, "remote_dns": BOOL, "step": NSTR,
        "method": enum(SOCKS_METHODS, null=True),
        "auth_status": nullable({"type": "integer", "minimum": 0,
                                 "maximum": 255}),
        "reply": nullable({"type": "integer", "minimum": 0,
                           "maximum": 255}),
        "reply_name": enum(SOCKS_REPLIES, null=True),
        "bound": nullable(closed({"address": STR, "port": PORT})),
    })
    reachability = closed({
        "checked": BOOL, "reachable": BOOL, "smtp": BOOL,
        "first_bytes": NSTR, "text": STR,
    })
    return {
        "schema": {"const": data.version},
        "address": STR,
        "domain": NSTR,
        "domain_ascii": NSTR,
        "verdict": enum(VERDICTS),
        "reason": enum([r for r, _v in data.reasons]),
        "summary": STR,
        "exit_code": {"type": "integer", "enum": ADDRESS_EXITS},
        "quit_after": enum(QUIT_AFTER, null=True),
        "elapsed_ms": MS,
        "server": nullable(closed({"host": NSTR, "ip": NSTR, "port": PORT})),
        "proxy": proxy,
        "reachability": reachability,
        "tls": tls,
        "ehlo": ehlo,
        "dns": dns,
        "mta_sts": mta_sts,
        "tls_rpt": tls_rpt,
        "identity": ref("identity"),
        "attempts": array(attempt),
        "stages": stages,
        "findings": array(ref("finding")),
        "findings_dropped": COUNT,
        "transcript": array(transcript),
        "transcript_dropped": COUNT,
    }


def verdict_pairs(data):
    """Each reason goes with one verdict (reasons.tsv)."""
    out = []
    for verdict in VERDICTS:
        reasons = [r for r, v in data.reasons if v == verdict]
        if reasons:
            out.append({"properties": {"verdict": {"const": verdict},
                                       "reason": {"enum": reasons}}})
    return out


def probe_object(data, batch=False):
    props = probe_props(data)
    if batch:
        line = nullable({"type": "integer", "minimum": 1})
        batch_props = {
            "index": COUNT,
            "line": line,
            "duplicate_of": nullable(closed({"index": COUNT,
                                             "line": line})),
            "tries": COUNT,
        }
        props = dict(list(props.items())[:2] + list(batch_props.items()) +
                     list(props.items())[2:])
    out = closed(props, optional=("proxy", "reachability"))
    out["anyOf"] = verdict_pairs(data)
    return out


def probe_defs(data, authenticated=False):
    defs = {
        "reply": reply_def(),
        "finding": finding_def(data),
        "explanation": explanation_def(data),
        "stage": stage_def(),
        "rdns": rdns_def(),
        "identity": identity_def(),
    }
    if authenticated:
        defs["relay_finding"] = finding_def(data, authenticated=True)
    return defs


def document(title, description, body, defs):
    out = {"$schema": DRAFT, "title": title, "description": description}
    out.update(body)
    if defs:
        out["$defs"] = defs
    return out


# -- the documents ------------------------------------------------------------

def probe_schema(data):
    return document(
        "smtpprobe probe report",
        "One address probed: smtpprobe --json ADDRESS (one object per "
        "address, one per line). docs/REPORT-FORMAT.md, \"JSON\".",
        probe_object(data), probe_defs(data))


def batch_schema(data):
    return document(
        "smtpprobe batch line",
        "One line of smtpprobe --batch FILE --json: a probe report with "
        "the entry's place in the input. docs/REPORT-FORMAT.md, \"Batch "
        "mode\".",
        probe_object(data, batch=True), probe_defs(data))


def helo_schema(data):
    candidate = closed({
        "kind": enum(HELO_KINDS), "name": NSTR, "tested": BOOL,
        "same_as": enum(HELO_KINDS, null=True), "status": enum(THREE_WAY),
        "accepted": TRI, "answered": BOOL,
        "outcome": enum(OUTCOMES, null=True),
        "refused_at": enum(["ehlo", "mail", "rcpt"], null=True),
        "temporary": BOOL, "about_helo": BOOL,
        "refusal": nullable(ref("reply")), "ehlo": nullable(ref("reply")),
        "helo": nullable(ref("reply")), "mail": nullable(ref("reply")),
        "rcpt": nullable(ref("reply")), "tls": BOOL, "note": NSTR,
        "transcript": array(closed({
            "t_ms": MS, "dir": enum(["send", "recv", "early", "info"]), "text": STR,
        })),
    })
    kinds = array(enum(HELO_KINDS))
    body = closed({
        "schema": {"const": data.version},
        "mode": {"const": "helo_test"},
        "target": NSTR, "domain": NSTR, "from": STR, "rcpt": NSTR,
        "server": nullable(closed({
            "host": NSTR, "ip": NSTR, "port": PORT, "first_mx": BOOL,
            "implicit_mx": BOOL,
        })),
        "dns_status": enum(DNS_STATUSES, null=True),
        "local_ip": NSTR, "server_name": NSTR,
        "exit_code": {"type": "integer", "enum": [0, 2, 65, 70]},
        "error": NSTR, "conclusion": NSTR,
        "rejects": kinds, "accepts": kinds, "same_refusal": kinds,
        "no_answer": kinds,
        "helo_test": array(candidate),
    })
    return document(
        "smtpprobe --helo-test report",
        "smtpprobe --helo-test --json: which HELO names one server "
        "accepts. docs/REPORT-FORMAT.md, \"--helo-test\".",
        body, {"reply": reply_def()})


def relay_schema(data):
    variant = closed({
        "variant": enum(RELAY_VARIANTS), "authenticated": BOOL, "rcpt": STR,
        "status": enum(RELAY_STATUSES), "accepted": TRI,
        "mail": nullable(ref("reply")), "reply": nullable(ref("reply")),
        "control": nullable(ref("reply")), "note": NSTR,
    })
    defs = probe_defs(data, authenticated=True)
    defs["probe"] = probe_object(data)
    body = closed({
        "schema": {"const": data.version},
        "mode": {"const": "relay_test"},
        "target": NSTR, "server_domain": NSTR,
        "server_domain_from": enum(RELAY_DOMAIN_SOURCES), "control": NSTR,
        "from": STR, "relay_rcpt": STR,
        "server": nullable(closed({"host": NSTR, "ip": NSTR, "port": PORT})),
        "open_relay": TRI, "authenticated_relay": TRI,
        "exit_code": {"type": "integer", "enum": [0, 1, 2, 65, 70]},
        "error": NSTR, "conclusion": NSTR,
        "relay_test": array(variant),
        "findings": array(ref("relay_finding")),
        "sessions": array(nullable(ref("probe"))),
    })
    return document(
        "smtpprobe --relay-test report",
        "smtpprobe --relay-test --json: does one server relay to outside "
        "domains; sessions holds a probe report per connection. "
        "docs/REPORT-FORMAT.md, \"--relay-test\".",
        body, defs)


def explain_schema(data):
    basic = nullable(closed({
        "known": BOOL, "origin": NSTR, "meaning": NSTR, "causes": NSTR,
        "advice": NSTR, "generic": NSTR,
    }))
    enhanced = nullable(closed({
        "class": STR, "subject": STR, "known": BOOL, "title": NSTR,
        "meaning": NSTR, "advice": NSTR, "ref": NSTR, "vendor_note": NSTR,
    }))
    body = closed({
        "schema": {"const": data.version},
        "input": {"type": "integer", "minimum": 1},
        "input_truncated": BOOL,
        "code": nullable({"type": "integer", "minimum": 0, "maximum": 999}),
        "enhanced": nullable({"type": "string",
                              "pattern": r"^[245]\.[0-9]{1,3}\.[0-9]{1,3}$"}),
        "text": STR,
        "text_truncated": BOOL,
        "command": enum(COMMANDS, null=True),
        "command_source": enum(["input", "option"], null=True),
        "basic": basic,
        "enhanced_info": enhanced,
        "legality": enum(LEGALITIES, null=True),
        "legality_ref": NSTR,
        "permanence": enum(PERMANENCES),
        "category": enum(data.categories),
        "blame": enum(BLAMES),
        "meaning": STR,
        "new_address": NSTR,
        "cause": NSTR,
        "advice": NSTR,
        "rule": NSTR,
    })
    return document(
        "smtpprobe explain object",
        "One explained reply of smtpprobe explain --json. "
        "docs/EXPLAIN.md, \"JSON\".",
        body, None)


SCHEMAS = {
    "probe": probe_schema,
    "batch-line": batch_schema,
    "explain": explain_schema,
    "helo-test": helo_schema,
    "relay-test": relay_schema,
}


def render(schema):
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=ROOT, help="the source tree")
    parser.add_argument("--check", action="store_true",
                        help="compare with docs/schema/, write nothing")
    opts = parser.parse_args(argv)
    try:
        data = Data(opts.root)
    except DataError as exc:
        print("gen_schema.py: %s" % exc, file=sys.stderr)
        return 2
    outdir = os.path.join(opts.root, "docs", "schema")
    stale = []
    for kind, make in SCHEMAS.items():
        path = os.path.join(outdir, kind + ".schema.json")
        text = render(make(data))
        try:
            with open(path, encoding="utf-8") as handle:
                current = handle.read()
        except FileNotFoundError:
            current = None
        if current == text:
            continue
        if opts.check:
            stale.append(path)
            continue
        os.makedirs(outdir, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        print("wrote %s" % os.path.relpath(path, opts.root))
    for path in stale:
        print("%s: not what scripts/gen_schema.py writes from the data "
              "files; run it and commit the result"
              % os.path.relpath(path, opts.root))
    if not opts.check:
        return 0
    if not stale:
        print("docs/schema: %d schemas up to date" % len(SCHEMAS))
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
