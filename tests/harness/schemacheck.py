"""A small JSON Schema (draft 2020-12) validator for smtpprobe's schemas.

    import schemacheck
    kind = schemacheck.document_kind(argv[1:])  # "probe", "explain", ...
    schema = schemacheck.load(kind)            # docs/schema/KIND.schema.json
    errors = schemacheck.validate(document, schema)   # [] when valid

The harness validates every JSON document the probe prints against the
schema files of docs/schema/ (run_scenario.py), so the schemas and the
program cannot drift apart.  It must run on a bare Debian with python3
and no network, so it is written here rather than taken from
python3-jsonschema; the harness self-test compares it with that library
when the library happens to be installed.

Only the keywords smtpprobe's schemas use are implemented, exactly as
draft 2020-12 defines them: type, enum, const, properties, required,
additionalProperties, items, prefixItems, minItems, maxItems, minimum,
maximum, minLength, pattern, anyOf, oneOf, $ref (to "#/$defs/NAME" in the
same file), and the annotations ($schema, $id, $comment, $defs, title,
description).  A schema that uses any other keyword is refused
(SchemaError) instead of being half-checked.  Standard library only.
"""

import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_DIR = os.path.join(os.path.dirname(os.path.dirname(HERE)), "docs",
                          "schema")
# The document kinds, as the files are named (KIND.schema.json).
KINDS = ("probe", "batch-line", "explain", "helo-test", "relay-test")

ANNOTATIONS = {"$schema", "$id", "$comment", "$defs", "title",
               "description"}
ASSERTIONS = {"type", "enum", "const", "properties", "required",
              "additionalProperties", "items", "prefixItems", "minItems",
              "maxItems", "minimum", "maximum", "minLength", "pattern",
              "anyOf", "oneOf", "$ref"}
TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}
MAX_ERRORS = 20


def document_kind(args):
    """The kind of JSON document smtpprobe prints for ARGS (its argv
    without the program name), the KIND of docs/schema/KIND.schema.json:
    explain, --helo-test, --relay-test, --batch, else a probe's report."""
    if args and args[0] == "explain":
        return "explain"
    names = [arg.split("=", 1)[0] for arg in args]
    for name, kind in (("--helo-test", "helo-test"),
                       ("--relay-test", "relay-test"),
                       ("--batch", "batch-line")):
        if name in names:
            return kind
    return "probe"


class SchemaError(Exception):
    """The schema itself is not one this validator can apply."""


_LOADED = {}


def load(kind, schema_dir=SCHEMA_DIR):
    """The schema of document KIND, checked for unknown keywords (read
    once)."""
    if kind not in KINDS:
        raise SchemaError("no document kind %r" % kind)
    path = os.path.join(schema_dir, kind + ".schema.json")
    if path not in _LOADED:
        with open(path, encoding="utf-8") as handle:
            schema = json.load(handle)
        check_schema(schema)
        _LOADED[path] = schema
    return _LOADED[path]


def check_schema(schema, where="#"):
    """Raise SchemaError for a keyword or a value this module cannot use."""
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        raise SchemaError("%s: a schema must be an object or a boolean"
                          % where)
    unknown = set(schema) - ANNOTATIONS - ASSERTIONS
    if unknown:
        raise SchemaError("%s: unsupported keywords %s"
                          % (where, sorted(unknown)))
    types = schema.get("type", [])
    for t in types if isinstance(types, list) else [types]:
        if t not in TYPES:
            raise SchemaError("%s: unknown type %r" % (where, t))
    ref = schema.get("$ref")
    if ref is not None and not re.fullmatch(r"#/\$defs/[\w-]+", ref):
        raise SchemaError("%s: only #/$defs/NAME references: %r"
                          % (where, ref))
    if "pattern" in schema:
        re.compile(schema["pattern"])
    for key in ("properties", "$defs"):
        for name, sub in schema.get(key, {}).items():
            check_schema(sub, "%s/%s/%s" % (where, key, name))
    for key in ("items", "additionalProperties"):
        if key in schema:
            check_schema(schema[key], "%s/%s" % (where, key))
    for key in ("prefixItems", "anyOf", "oneOf"):
        for n, sub in enumerate(schema.get(key, [])):
            check_schema(sub, "%s/%s/%d" % (where, key, n))


def type_of(value):
    """The JSON type of a decoded value (integers are numbers too)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "unknown"


def json_equal(a, b):
    """Equality as JSON sees it: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y)
                                        for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k])
                                            for k in a)
    return a == b


class Validator:
    """One validation: the root schema (for $ref) and the errors found."""

    def __init__(self, root):
        self.root = root
        self.errors = []

    def error(self, path, message):
        if len(self.errors) < MAX_ERRORS:
            self.errors.append("%s: %s" % (path or "(document)", message))

    def resolve(self, ref):
        return self.root["$defs"][ref[len("#/$defs/"):]]

    def valid(self, value, schema):
        """Does value match schema?  (Errors of the attempt discarded.)"""
        saved = self.errors
        self.errors = []
        self.check(value, schema, "")
        ok = not self.errors
        self.errors = saved
        return ok

    def check(self, value, schema, path):
        if schema is True:
            return
        if schema is False:
            self.error(path, "no value is allowed here")
            return
        if "$ref" in schema:
            self.check(value, self.resolve(schema["$ref"]), path)
        if not self.check_type(value, schema, path):
            return
        if "const" in schema and not json_equal(value, schema["const"]):
            self.error(path, "%s is not %s" % (short(value),
                                               short(schema["const"])))
        if "enum" in schema and not any(json_equal(value, v)
                                        for v in schema["enum"]):
            self.error(path, "%s is not one of the listed values"
                       % short(value))
        self.check_number(value, schema, path)
        self.check_string(value, schema, path)
        if isinstance(value, dict):
            self.check_object(value, schema, path)
        if isinstance(value, list):
            self.check_array(value, schema, path)
        self.check_combinations(value, schema, path)

    def check_type(self, value, schema, path):
        if "type" not in schema:
            return True
        want = schema["type"]
        want = want if isinstance(want, list) else [want]
        actual = type_of(value)
        if actual in want or (actual == "integer" and "number" in want):
            return True
        self.error(path, "%s is %s, not %s" % (short(value), actual,
                                               " or ".join(want)))
        return False

    def check_number(self, value, schema, path):
        if type_of(value) not in ("integer", "number"):
            return
        if "minimum" in schema and value < schema["minimum"]:
            self.error(path, "%s is below %s" % (value, schema["minimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            self.error(path, "%s is above %s" % (value, schema["maximum"]))

    def check_string(self, value, schema, path):
        if not isinstance(value, str):
            return
        if "minLength" in schema and len(value) < schema["minLength"]:
            self.error(path, "%s is shorter than %d characters"
                       % (short(value), schema["minLength"]))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            self.error(path, "%s does not match /%s/" % (short(value),
                                                         schema["pattern"]))

    def check_object(self, value, schema, path):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                self.error(path, "required key %r is missing" % key)
        for key, item in value.items():
            where = "%s.%s" % (path, key) if path else key
            if key in props:
                self.check(item, props[key], where)
            elif "additionalProperties" in schema:
                extra = schema["additionalProperties"]
                if extra is False:
                    self.error(path, "key %r is not in the schema" % key)
                else:
                    self.check(item, extra, where)

    def check_array(self, value, schema, path):
        if "minItems" in schema and len(value) < schema["minItems"]:
            self.error(path, "%d items, fewer than %d" % (len(value),
                                                         schema["minItems"]))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            self.error(path, "%d items, more than %d" % (len(value),
                                                        schema["maxItems"]))
        prefix = schema.get("prefixItems", [])
        for n, item in enumerate(value):
            where = "%s[%d]" % (path, n)
            if n < len(prefix):
                self.check(item, prefix[n], where)
            elif "items" in schema:
                self.check(item, schema["items"], where)

    def check_combinations(self, value, schema, path):
        if "anyOf" in schema and not any(self.valid(value, sub)
                                         for sub in schema["anyOf"]):
            self.error(path, "%s matches none of the anyOf choices"
                       % short(value))
        if "oneOf" in schema:
            n = sum(1 for sub in schema["oneOf"] if self.valid(value, sub))
            if n != 1:
                self.error(path, "%s matches %d of the oneOf choices, not "
                           "exactly one" % (short(value), n))


def short(value, limit=80):
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "..."


def validate(document, schema):
    """The list of ways document breaks schema; [] when it is valid."""
    validator = Validator(schema)
    validator.check(document, schema, "")
    return validator.errors
