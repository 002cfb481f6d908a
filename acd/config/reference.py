"""The configuration reference (``docs/config.md``), generated from :mod:`acd.config.schema`.

Names, types, bounds and defaults come from the Structs themselves (``msgspec.inspect``);
the prose comes from the ``#:`` comment lines just above each field and from each
Struct's docstring, read from the module's source with :mod:`ast`. So the reference
cannot drift from the loader: a test regenerates it and compares. Regenerate with::

    .venv/bin/acd config-reference > docs/config.md
"""

from __future__ import annotations

import ast
import inspect
import math
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import msgspec
import msgspec.inspect as mi

from acd.config import schema as config_module

REGENERATE = ".venv/bin/acd config-reference > docs/config.md"

#: what the key of a keyed table stands for, in the headers ([skills.<SKILL>])
TABLE_KEYS = {"skills": "<SKILL>", "numbers": '"<NUMBER>"', "overflow": "<QUEUE>"}


def field_comments(module: ModuleType) -> dict[str, dict[str, str]]:
    """``{class name: {field name: text of its #: comment lines}}``."""
    source = inspect.getsource(module)
    lines = source.splitlines()
    found: dict[str, dict[str, str]] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields: dict[str, str] = {}
        for item in node.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                comment: list[str] = []
                index = item.lineno - 2  # the line above, 0-based
                while index >= 0 and lines[index].strip().startswith("#:"):
                    comment.insert(0, lines[index].strip()[2:].strip())
                    index -= 1
                fields[item.target.id] = " ".join(comment)
        found[node.name] = fields
    return found


def _bounds(kind: Any) -> str:
    parts = []
    for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
        value = getattr(kind, attr, None)
        if value is not None:
            parts.append(f"{sign} {value:,}".replace(",", " "))
    for attr, word in (("min_length", "length ≥"), ("max_length", "length ≤")):
        value = getattr(kind, attr, None)
        if value is not None:
            parts.append(f"{word} {value}")
    pattern = getattr(kind, "pattern", None)
    if pattern:
        parts.append(f"matching `{pattern}`")
    return f" ({', '.join(parts)})" if parts else ""


def type_name(kind: mi.Type) -> str:
    """A TOML-minded name for a msgspec type: string, integer, number, table…"""
    if isinstance(kind, mi.StrType):
        return "string" + _bounds(kind)
    if isinstance(kind, mi.BoolType):
        return "boolean"
    if isinstance(kind, mi.IntType):
        return "integer" + _bounds(kind)
    if isinstance(kind, mi.FloatType):
        return "number" + _bounds(kind)
    if isinstance(kind, mi.LiteralType):
        return "one of " + ", ".join(f'`"{v}"`' if isinstance(v, str) else f"`{v}`"
                                     for v in kind.values)
    if isinstance(kind, mi.ListType):
        return f"list of {type_name(kind.item_type)}"
    if isinstance(kind, mi.DictType):
        return f"table: {type_name(kind.key_type)} → {type_name(kind.value_type)}"
    if isinstance(kind, mi.StructType):
        return "table"
    if isinstance(kind, mi.UnionType):
        others = [t for t in kind.types if not isinstance(t, mi.NoneType)]
        text = " or ".join(type_name(t) for t in others)
        return f"{text}, optional" if len(others) < len(kind.types) else text
    return type(kind).__name__.removesuffix("Type").lower()


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return f"{value:.1f}"
    if isinstance(value, (str, int, float)):
        return msgspec.json.encode(value).decode()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, msgspec.Struct):
        return _toml(msgspec.to_builtins(value))
    return repr(value)


def default_text(field: mi.Field) -> str:
    if field.required:
        return "**required**"
    if field.default is not msgspec.NODEFAULT:
        return "unset" if field.default is None else f"`{_toml(field.default)}`"
    made = field.default_factory()
    if isinstance(made, msgspec.Struct):
        return "(its keys' defaults)"
    if made in ([], {}):
        return "empty"
    return f"`{_toml(made)}`"


def _struct_of(kind: mi.Type) -> tuple[mi.StructType | None, str]:
    """The Struct a field holds, and how its TOML header is written relative to the
    field's name (``{}`` stands for the name)."""
    if isinstance(kind, mi.StructType):
        return kind, "[{}]"
    if isinstance(kind, mi.UnionType):
        for inner in kind.types:
            if isinstance(inner, mi.StructType):
                return inner, "[{}]?"
    if isinstance(kind, mi.ListType) and isinstance(kind.item_type, mi.StructType):
        return kind.item_type, "[[{}]]"
    if isinstance(kind, mi.DictType) and isinstance(kind.value_type, mi.StructType):
        return kind.value_type, "[{}.<KEY>]"  # <KEY> is named by TABLE_KEYS
    return None, ""


def _sections(struct: mi.StructType, prefix: str, header: str, owner_doc: str,
              ) -> Iterator[tuple[str, mi.StructType, str]]:
    yield header, struct, owner_doc
    comments = field_comments(config_module)
    for field in struct.fields:
        inner, shape = _struct_of(field.type)
        if inner is None:
            continue
        name = f"{prefix}.{field.name}" if prefix else field.name
        doc = comments.get(struct.cls.__name__, {}).get(field.name, "")
        header = shape.format(name).replace("<KEY>", TABLE_KEYS.get(name, "<KEY>"))
        if header.endswith("?"):
            header = header[:-1]
            doc = f"{doc} Optional table: left out, the feature is off.".strip()
        yield from _sections(inner, name, header, doc)


def _prose(text: str) -> str:
    """reST-isms of the docstrings as Markdown."""
    return re.sub(r":mod:`([^`]+)`", r"`\1`", text.replace("``", "`"))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    """The whole reference, Markdown."""
    comments = field_comments(config_module)
    root = mi.type_info(config_module.Config)
    assert isinstance(root, mi.StructType)
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated from acd/config/schema.py by `acd config-reference`: do not edit by hand.",
        f"     Regenerate with: {REGENERATE} -->",
        "",
        "The site configuration is one TOML file (`/etc/acd/acd.toml` in production; examples",
        "in `config/`). `acd check-config FILE` validates it and names file, key and problem.",
        "Unknown keys are errors. Secrets are never keys of this file: the AMI secret and the",
        "API tokens come from the environment, a secrets file or systemd credentials",
        "(`docs/install.md`).",
        "",
        "Durations are seconds (`_s`). *optional* keys may be left out (TOML has no null);",
        "a key left out takes its default.",
        "",
    ]
    for header, struct, owner_doc in _sections(root, "", "", ""):
        fields = [f for f in struct.fields if _struct_of(f.type)[0] is None]
        if not header and not fields:
            continue
        out += [f"## `{header}`" if header else "## Top level", ""]
        doc = inspect.getdoc(struct.cls) or ""
        if doc and doc != inspect.getdoc(msgspec.Struct) and not doc.startswith("Base:"):
            out += [_prose(doc), ""]
        if owner_doc:
            out += [_prose(owner_doc), ""]
        if not fields:
            continue
        out += ["| key | type | default | meaning |", "|---|---|---|---|"]
        class_comments = comments.get(struct.cls.__name__, {})
        for field in fields:
            meaning = _prose(class_comments.get(field.name, ""))
            out.append(f"| `{field.name}` | {_cell(type_name(field.type))} | "
                       f"{_cell(default_text(field))} | {_cell(meaning)} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
