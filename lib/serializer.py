"""JSON encoding as Ganeti writes it (compact, stable key order optional)."""

from __future__ import annotations

import json

TYPE_CHECKING = False   # typing costs ~10 ms of every command's start-up
if TYPE_CHECKING:
    from typing import Any

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_PRETTY = json.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=False)


def dumps(data: Any) -> str:
    """Compact JSON text."""
    return _ENCODER.encode(data)


_orjson: Any = None          # imported on first use: 12 ms no CLI command needs


def _load_orjson() -> Any:
    global _orjson
    if _orjson is None:
        try:  # a C encoder several times faster than json's for big answers
            import orjson
            _orjson = orjson
        except ImportError:  # pragma: no cover - optional speed-up
            _orjson = False
    return _orjson


def dumps_fast(data: Any) -> bytes:
    """Compact JSON bytes, as :func:`dumps`, for wire protocols (LUXI answers).

    Uses orjson when installed; anything it refuses (integers beyond 64
    bits, for instance) falls back to the standard encoder.
    """
    fast = _load_orjson()
    if fast:
        try:
            return fast.dumps(data, option=fast.OPT_NON_STR_KEYS)
        except TypeError:
            pass
    return _ENCODER.encode(data).encode("utf-8")


def dump_json(data: Any, pretty: bool = False) -> bytes:
    text = (_PRETTY if pretty else _ENCODER).encode(data)
    return text.encode("utf-8")


def loads(data: str | bytes) -> Any:
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return json.loads(data)


load_json = loads
