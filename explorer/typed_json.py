"""Untrusted JSON into typed values: a depth bound checked before parsing, and every field of a
JSON object checked against a dataclass's type hints before the dataclass is built from it.

`explorer.checkpoint` and `explorer.classifier` read a file's metadata with these
(`load_metadata`); whatever the JSON holds, the result is a well-formed dataclass or an `Invalid`
naming the field, never a deep recursion, an overflow or an exception from inside the dataclass.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
import types
import typing

import numpy as np


class Invalid(Exception):
    """A validation failure, before the file's name is put in front of it."""


def refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def build(cls, d, where: str):
    """An instance of the dataclass `cls` from a JSON object, typed field by field first."""
    check_fields(cls, d, where)
    try:
        return cls.from_dict(d) if hasattr(cls, "from_dict") else cls(**d)
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError, IndexError) as e:
        raise Invalid(f"{where}: {type(e).__name__}: {e}") from None


def check_fields(cls, d, where: str) -> None:
    if not isinstance(d, dict):
        raise Invalid(f"{where} must be a JSON object, got {short(d)}")
    hints = type_hints(cls)
    for name, value in d.items():
        if name not in hints:
            raise Invalid(f"{where}: unknown field {short(name)}")
        check_value(hints[name], value, f"{where}.{name}")


@functools.cache
def type_hints(cls) -> dict:
    return typing.get_type_hints(cls)


def check_value(tp, value, where: str) -> None:
    if dataclasses.is_dataclass(tp):
        return check_fields(tp, value, where)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):  # X | None: None, or an X
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        others = [a for a in args if a is not type(None)]
        return check_value(others[0], value, where) if len(others) == 1 else None
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list) or (Ellipsis not in args and len(value) != len(args)):
            raise Invalid(f"{where} must be a list of {len(args) if Ellipsis not in args else 'any number of'} "
                          f"values, got {short(value)}")
        for i, item in enumerate(value):
            check_value(args[0] if Ellipsis in args else args[i], item, f"{where}[{i}]")
        return None
    check = SCALARS.get(tp)  # other types are left to the dataclass itself
    if check is not None and not check[0](value):
        raise Invalid(f"{where} must be {check[1]}, got {short(value)}")
    return None


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and -2**63 <= v < 2**63


def is_finite_number(v) -> bool:
    return (type(v) is float and math.isfinite(v)) or is_int(v)


SCALARS = {bool: (lambda v: isinstance(v, bool), "true or false"),
           int: (is_int, "an integer of at most 64 bits"),
           float: (is_finite_number, "a finite number"),
           str: (lambda v: isinstance(v, str), "a string")}


JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)


def json_depth(text: str, chunk: int = 1 << 20) -> int:
    """How deep arrays and objects nest in a JSON text (strings skipped), without recursion:
    json.loads recurses once per level, so the depth is bounded before it runs."""
    outside = np.frombuffer(JSON_STRING.sub("", text).encode("utf-8", "replace"), np.uint8)
    deepest = level = 0
    for start in range(0, len(outside), chunk):
        part = outside[start:start + chunk]
        steps = ((part == ord("[")) | (part == ord("{"))).astype(np.int32) - ((part == ord("]")) | (part == ord("}")))
        levels = level + np.cumsum(steps)
        if levels.size:
            deepest, level = max(deepest, int(levels.max())), int(levels[-1])
    return deepest


def load_metadata(text, max_depth: int):
    """The JSON a file's "explorer" metadata holds, its depth bounded by `max_depth` before it is
    parsed; `Invalid` if it is missing, too deep or not JSON (NaN and Infinity refused)."""
    if not isinstance(text, str):
        raise Invalid("no 'explorer' metadata")
    if (depth := json_depth(text)) > max_depth:
        raise Invalid(f"metadata JSON nested {depth} deep, more than {max_depth}")
    try:
        return json.loads(text, parse_constant=refuse_constant)
    except (ValueError, RecursionError) as e:
        raise Invalid(f"metadata is not valid JSON ({e})") from None


def short(value, limit: int = 60) -> str:
    """A value for an error message, quoted but never at length. A huge integer is described by
    its digit count: Python refuses to write out one of over 4,300 digits."""
    if isinstance(value, int) and abs(value) >= 10**limit:
        return f"an integer of {digit_count(abs(value)):,} digits"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def digit_count(n: int) -> int:
    """Decimal digits of a positive integer of any size, without converting it to a string."""
    digits = int(math.log10(n)) + 1  # log10 of a big int may be one off beside a power of ten
    return digits - (10 ** (digits - 1) > n) + (10**digits <= n)
