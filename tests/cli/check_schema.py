#!/usr/bin/env python3
"""check_schema.py SCHEMA DOCUMENT — validate a JSON document against a JSON schema.

Uses python3-jsonschema when it is installed; otherwise a strict validator of the subset of
the vocabulary that tests/cli/*.schema.json use (type, enum, pattern, required, properties,
additionalProperties, items, minimum, minLength, uniqueItems). Exit 0 valid, 1 invalid.
"""
import json
import re
import sys

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def check(schema, value, path="$"):
    errors = []
    types = schema.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        if not any(TYPES[t](value) for t in types):
            return [f"{path}: {value!r} is not of type {types}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: {value!r} is too short")
    if isinstance(value, int) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value} < {schema['minimum']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{path}: missing {name}")
        for name, v in value.items():
            if name in props:
                errors += check(props[name], v, f"{path}.{name}")
            elif schema.get("additionalProperties", True) is False:
                errors.append(f"{path}: unexpected member {name}")
    if isinstance(value, list):
        if schema.get("uniqueItems") and len({json.dumps(v) for v in value}) != len(value):
            errors.append(f"{path}: items are not unique")
        for i, v in enumerate(value):
            errors += check(schema.get("items", {}), v, f"{path}[{i}]")
    return errors


def main():
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    with open(sys.argv[2]) as f:
        doc = json.load(f)
    try:
        import jsonschema
    except ImportError:
        errors = check(schema, doc)
    else:
        errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(doc)]
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
