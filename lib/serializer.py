"""JSON encoding as Ganeti writes it (compact, stable key order optional)."""

from __future__ import annotations

import json
from typing import Any

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_PRETTY = json.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=False)


def dumps(data: Any) -> str:
    """Compact JSON text."""
    return _ENCODER.encode(data)


def dump_json(data: Any, pretty: bool = False) -> bytes:
    text = (_PRETTY if pretty else _ENCODER).encode(data)
    return text.encode("utf-8")


def loads(data: str | bytes) -> Any:
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return json.loads(data)


load_json = loads
