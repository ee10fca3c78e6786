"""The JSON Schema of the normalised PLC status (``schema/plc-status-1.json``) and validation against it."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from devices.plc.problems import PlcStatusProblem, json_path

SCHEMA_FILE = "plc-status-1.json"
"""The schema's file in ``devices/plc/schema/``."""
SCHEMA_ID = "urn:pyros:schema:plc-status:1"
"""The schema's ``$id``."""


@lru_cache(maxsize=1)
def status_schema() -> dict[str, Any]:
    """The schema, read once from the package (callers must not modify it)."""
    text = resources.files("devices.plc").joinpath("schema").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    schema = status_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


_Located = tuple[list[str | int], str]


def _sort_key(located: _Located) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, part) if isinstance(part, int) else (1, part) for part in located[0])


def _problems_of(error: ValidationError, document: Any) -> list[_Located]:
    """Say one schema violation in the words of this format, at the JSON path of what is at fault."""
    path = list(error.absolute_path)
    instance = error.instance
    subschema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "required" and isinstance(instance, dict):
        missing = [name for name in error.validator_value if name not in instance]
        named = [name for name in missing if error.message.startswith(repr(name))] or missing[:1]
        return [([*path, name], "missing (required)") for name in named]
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = subschema.get("properties", {})
        return [([*path, name], f"unknown field (the fields are: {', '.join(known)})")
                for name in instance if name not in known]
    if error.validator == "enum" and path and path[-1] == "unit":
        return [(path, f"unknown unit {_shown(instance)} (the units are: {', '.join(error.validator_value)})")]
    if error.validator == "enum" and path and path[-1] == "type":
        return [(path, f"unknown device type {_shown(instance)} (the types are: {', '.join(error.validator_value)})")]
    if error.validator in ("pattern", "enum", "minLength", "maxLength") and "description" in subschema:
        return [(path, f"{_shown(instance)} is refused: {subschema['description']}")]
    message = error.message
    if error.validator in ("minimum", "maximum", "type") and path and path[-1] == "value":
        holder = _at(document, path[:-1])
        if isinstance(holder, dict) and isinstance(holder.get("unit"), str):
            message = f"{message} (unit {holder['unit']})"
    return [(path, message)]


def _shown(instance: Any) -> str:
    text = repr(instance)
    return text if len(text) <= 80 else text[:77] + "..."


def _at(document: Any, path: list[str | int]) -> Any:
    """The value at a path that the validator reported (so it exists)."""
    for part in path:
        document = document[part]
    return document


def validate_status_document(document: Any) -> list[PlcStatusProblem]:
    """Check a normalised status against the schema.

    Args:
        document: The status as plain JSON values.

    Returns:
        Every violation, in document order, each at the JSON path of what is at fault (empty if valid).
    """
    located: list[_Located] = []
    for error in _validator().iter_errors(document):
        located.extend(_problems_of(error, document))
    return [PlcStatusProblem(json_path(path), message) for path, message in sorted(located, key=_sort_key)]
