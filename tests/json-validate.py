#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# json-validate.py SCHEMA DOCUMENT [EXIT_STATUS]: checks DOCUMENT against the
# subset of JSON Schema the tools' schemas use (type, enum, required,
# properties, additionalProperties, items, minimum, pattern, $ref into
# $defs, also of a schema file beside it), so the tests need no python3-jsonschema; keys may not hold spaces.
# With EXIT_STATUS, the document's "exit_status" must equal it. Exit 0 when
# valid, 1 (printing each error) when not.
import json, os, re, sys
schema = json.load(open(sys.argv[1]))
here = os.path.dirname(os.path.abspath(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
errors = []
types = {"object": dict, "array": list, "string": str, "boolean": bool,
         "null": type(None)}
def is_type(v, t):
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    return isinstance(v, types[t])
def check(v, s, path):
    if "$ref" in s:
        # "#/$defs/x" here, or "other.schema.json#/$defs/x" beside it
        where, _, name = s["$ref"].partition("#/$defs/")
        root = json.load(open(os.path.join(here, where))) if where else schema
        s = root["$defs"][name]
    t = s.get("type")
    if t is not None:
        ts = t if isinstance(t, list) else [t]
        if not any(is_type(v, x) for x in ts):
            errors.append("%s: %r is not %s" % (path, v, t)); return
    if v is None:
        return
    if "enum" in s and v not in s["enum"]:
        errors.append("%s: %r not in %s" % (path, v, s["enum"]))
    if "minimum" in s and v < s["minimum"]:
        errors.append("%s: %r < %s" % (path, v, s["minimum"]))
    if "pattern" in s and not re.search(s["pattern"], v):
        errors.append("%s: %r does not match %s" % (path, v, s["pattern"]))
    if isinstance(v, list) and "items" in s:
        for i, x in enumerate(v):
            check(x, s["items"], "%s[%d]" % (path, i))
    if isinstance(v, dict):
        for k in s.get("required", []):
            if k not in v:
                errors.append("%s: missing %s" % (path, k))
        props = s.get("properties", {})
        for k, x in v.items():
            if " " in k:
                errors.append("%s: key %r has a space" % (path, k))
            if k in props:
                check(x, props[k], path + "." + k)
            elif s.get("additionalProperties") is False:
                errors.append("%s: unknown key %s" % (path, k))
check(doc, schema, "$")
if len(sys.argv) > 3 and doc.get("exit_status") != int(sys.argv[3]):
    errors.append("$.exit_status %r, exit status %s" % (doc.get("exit_status"), sys.argv[3]))
for e in errors:
    print("    " + e)
sys.exit(1 if errors else 0)
