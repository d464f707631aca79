"""Type checks for opcode and RPC parameters: small predicates with names.

Each check is a callable returning bool and carrying a ``desc`` used in
error messages ("Parameter 'OP_X.y' fails validation: expected ...").
"""

from __future__ import annotations

from typing import Any, Callable


class Check:
    def __init__(self, fn: Callable[[Any], bool], desc: str):
        self.fn = fn
        self.desc = desc

    def __call__(self, value: Any) -> bool:
        try:
            return bool(self.fn(value))
        except Exception:  # a check never raises
            return False

    def __repr__(self) -> str:
        return self.desc


def _isnum(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


TAny = Check(lambda v: True, "any value")
TNone = Check(lambda v: v is None, "None")
TBool = Check(lambda v: isinstance(v, bool), "boolean")
TInt = Check(lambda v: isinstance(v, int) and not isinstance(v, bool), "integer")
TNumber = Check(_isnum, "number")
TNonNegInt = Check(lambda v: TInt(v) and v >= 0, "non-negative integer")
TPositiveInt = Check(lambda v: TInt(v) and v > 0, "positive integer")
TNonNegNumber = Check(lambda v: _isnum(v) and v >= 0, "non-negative number")
TString = Check(lambda v: isinstance(v, str), "string")
TNonEmptyString = Check(lambda v: isinstance(v, str) and len(v) > 0, "non-empty string")
TList = Check(lambda v: isinstance(v, list), "list")
TDict = Check(lambda v: isinstance(v, dict), "dict")


def TMaybe(check: Check) -> Check:
    return Check(lambda v: v is None or check(v), "None or %s" % check.desc)


def TOr(*checks: Check) -> Check:
    return Check(lambda v: any(c(v) for c in checks),
                 " or ".join(c.desc for c in checks))


def TElemOf(values) -> Check:
    vals = frozenset(values)
    return Check(lambda v: v in vals, "one of %s" % ", ".join(sorted(map(str, vals))))


def TListOf(check: Check) -> Check:
    return Check(lambda v: isinstance(v, list) and all(check(x) for x in v),
                 "list of %s" % check.desc)


def TDictOf(kcheck: Check, vcheck: Check) -> Check:
    return Check(lambda v: isinstance(v, dict) and
                 all(kcheck(k) and vcheck(x) for k, x in v.items()),
                 "dict of %s -> %s" % (kcheck.desc, vcheck.desc))


def TTupleOf(*checks: Check) -> Check:
    return Check(lambda v: isinstance(v, (list, tuple)) and len(v) == len(checks)
                 and all(c(x) for c, x in zip(checks, v, strict=False)),
                 "(%s)" % ", ".join(c.desc for c in checks))


TMaybeString = TMaybe(TNonEmptyString)
TMaybeBool = TMaybe(TBool)
TMaybeDict = TMaybe(TDict)
TMaybeListOfStrings = TMaybe(TListOf(TNonEmptyString))
TListOfStrings = TListOf(TString)
TStrDict = TDictOf(TString, TAny)
TMaybeStrDict = TMaybe(TStrDict)
