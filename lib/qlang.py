"""The query filter language: text form → JSON form → predicate.

The text grammar (spec/fields.md §2.2) is parsed with pyparsing, imported
only when a text filter is actually parsed so CLI start-up stays fast.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ganeti import errors

OP_OR = "|"
OP_AND = "&"
OP_NOT = "!"
OP_TRUE = "?"
OP_EQUAL = "=="
OP_EQUAL_LEGACY = "="
OP_NOT_EQUAL = "!="
OP_LT, OP_LE, OP_GT, OP_GE = "<", "<=", ">", ">="
OP_REGEXP = "=~"
OP_CONTAINS = "=[]"

FILTER_DETECTION_CHARS = frozenset("()=/!~'\"\\<>" + " \t\n\r\f\v")
GLOB_DETECTION_CHARS = frozenset("*?")

_parser = None


def _build_parser():
    import pyparsing as pp
    lparen, rparen = pp.Suppress("("), pp.Suppress(")")
    quoted = pp.QuotedString('"', esc_char="\\") | pp.QuotedString("'", esc_char="\\")
    number = pp.Regex(r"[-+]?\d+").set_parse_action(lambda t: int(t[0]))
    value = quoted | number
    field = pp.Regex(r"[A-Za-z][A-Za-z0-9_/.]*")
    binop = pp.one_of("== != <= >= < > =")
    regexp = pp.Regex(r"m?(?P<d>[/#^|;])(?P<re>.*?)(?P=d)(?P<flags>[is]*)")
    globval = quoted
    not_kw = pp.Keyword("not")
    in_kw = pp.Keyword("in")

    def _binop(t):
        op = t[1]
        if op == "=":
            op = OP_EQUAL
        return [[op, t[0], t[2]]]

    def _re(t):
        m = re.match(r"m?([/#^|;])(.*)\1([is]*)$", t[2])
        pattern, flags = m.group(2), m.group(3)
        prefix = "".join("(?%s)" % f for f in flags)
        expr = [OP_REGEXP, t[0], prefix + pattern]
        return [expr if t[1] == "=~" else [OP_NOT, expr]]

    def _glob(t):
        expr = [OP_REGEXP, t[0], glob_to_regex(t[2])]
        return [expr if t[1] == "=*" else [OP_NOT, expr]]

    def _in(t):
        if len(t) == 4:
            return [[OP_NOT, [OP_CONTAINS, t[3], t[0]]]]
        return [[OP_CONTAINS, t[2], t[0]]]

    cond_binop = (field + binop + value).set_parse_action(_binop)
    cond_re = (field + pp.one_of("=~ !~") + regexp).set_parse_action(_re)
    cond_glob = (field + pp.one_of("=* !*") + globval).set_parse_action(_glob)
    cond_in = (value + pp.Optional(not_kw) + in_kw + field).set_parse_action(_in)
    cond_bool = field.copy().set_parse_action(lambda t: [[OP_TRUE, t[0]]])
    condition = cond_re | cond_glob | cond_binop | cond_in | (~not_kw + cond_bool)

    def _unary(t):
        return [[OP_NOT, t[0][1]]]

    def _nary(op):
        def action(t):
            return [[op] + list(t[0][0::2])]
        return action

    expr = pp.infix_notation(condition, [
        (not_kw, 1, pp.OpAssoc.RIGHT, _unary),
        (pp.Keyword("and"), 2, pp.OpAssoc.LEFT, _nary(OP_AND)),
        (pp.Keyword("or"), 2, pp.OpAssoc.LEFT, _nary(OP_OR)),
    ], lpar=lparen, rpar=rparen)
    return expr + pp.StringEnd()


def parse_filter(text: str) -> list:
    """Parse the text form into the JSON form."""
    global _parser
    import pyparsing as pp
    if _parser is None:
        _parser = _build_parser()
    try:
        return _plain(_parser.parse_string(text, parse_all=True)[0])
    except pp.ParseBaseException as err:
        raise errors.QueryFilterParseError("Failed to parse query filter '%s': %s" %
                                           (text, err), text, err.loc)


def _plain(value: Any) -> Any:
    """pyparsing results to plain lists (a parenthesised group nests one level)."""
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        return value
    items = [_plain(v) for v in value]
    if len(items) == 1 and isinstance(items[0], list) and items[0] and \
            isinstance(items[0][0], str) and items[0][0] in _OPERATORS:
        return items[0]
    return items


_OPERATORS = frozenset([OP_OR, OP_AND, OP_NOT, OP_TRUE, OP_EQUAL, OP_NOT_EQUAL, OP_LT, OP_LE,
                        OP_GT, OP_GE, OP_REGEXP, OP_CONTAINS])


def glob_to_regex(glob: str) -> str:
    """DNS-style glob: '*' and '?' never match '.'; name or name.domain."""
    parts = []
    for ch in glob:
        if ch == "*":
            parts.append("[^.]*")
        elif ch == "?":
            parts.append("[^.]")
        else:
            parts.append(re.escape(ch))
    return "^%s(\\..*)?$" % "".join(parts)


def _is_filter(text: str) -> bool:
    return bool(FILTER_DETECTION_CHARS.intersection(text))


def make_filter(args: list[str], force_filter: bool, namefield: str = "name",
                isnumeric: bool = False) -> list | None:
    """Turn CLI arguments into a query filter (or None for "all")."""
    if force_filter:
        if len(args) != 1:
            raise errors.OpPrereqError("Exactly one argument must be given as a filter",
                                       errors.ECODE_INVAL)
        return parse_filter(args[0])
    if not args:
        return None
    if len(args) == 1 and _is_filter(args[0]):
        return parse_filter(args[0])
    exprs = []
    for arg in args:
        if isnumeric:
            try:
                value = int(arg)
            except ValueError:
                raise errors.OpPrereqError("Invalid job ID passed: '%s'" % arg,
                                           errors.ECODE_INVAL)
            exprs.append([OP_EQUAL, namefield, value])
        elif GLOB_DETECTION_CHARS.intersection(arg):
            exprs.append([OP_REGEXP, namefield, glob_to_regex(arg)])
        else:
            exprs.append([OP_EQUAL, namefield, arg])
    return [OP_OR] + exprs


def filter_names(qfilter: Any, namefield: str) -> list | None:
    """Names requested by a pure "name == x or ..." filter, else None."""
    if not isinstance(qfilter, list) or not qfilter:
        return None
    if qfilter[0] in (OP_EQUAL, OP_EQUAL_LEGACY) and len(qfilter) == 3 and \
            qfilter[1] == namefield:
        return [qfilter[2]]
    if qfilter[0] == OP_OR:
        names = []
        for sub in qfilter[1:]:
            got = filter_names(sub, namefield)
            if got is None:
                return None
            names.extend(got)
        return names
    return None


def _fail(msg: str) -> None:
    raise errors.QueryFilterParseError(msg)


def _cmp_value(value: Any, split_ts: bool) -> Any:
    if split_ts and isinstance(value, (list, tuple)) and len(value) == 2:
        return value[0]
    return value


def compile_filter(table: dict, qfilter: Any) -> Callable[[Any, Any], bool]:
    """Check a JSON-form filter and build a predicate ``fn(ctx, item)``."""
    from ganeti.query import QFF_HOSTNAME, QFF_SPLIT_TIMESTAMP, Special

    def field_getter(name: Any):
        if not isinstance(name, str) or name not in table:
            _fail("Unknown field '%s' in query filter" % (name,))
        fld = table[name]
        return fld.getter, fld.flags

    def build(node: Any) -> Callable[[Any, Any], bool]:
        if not isinstance(node, list) or not node:
            _fail("Invalid filter expression %r: must be a non-empty list" % (node,))
        op = node[0]
        args = node[1:]
        if op in (OP_AND, OP_OR):
            subs = [build(a) for a in args]
            if op == OP_AND:
                return lambda c, i: all(f(c, i) for f in subs)
            return lambda c, i: any(f(c, i) for f in subs)
        if op == OP_NOT:
            if len(args) != 1:
                _fail("Operator '!' takes exactly one operand")
            sub = build(args[0])
            return lambda c, i: not sub(c, i)
        if op == OP_TRUE:
            if len(args) != 1:
                _fail("Operator '?' takes exactly one operand")
            getter, _ = field_getter(args[0])

            def truth(c, i):
                v = getter(c, i)
                return not isinstance(v, Special) and bool(v)
            return truth
        if op not in (OP_EQUAL, OP_EQUAL_LEGACY, OP_NOT_EQUAL, OP_LT, OP_LE, OP_GT, OP_GE,
                      OP_REGEXP, OP_CONTAINS):
            _fail("Unknown operator '%s' in query filter" % (op,))
        if len(args) != 2:
            _fail("Operator '%s' takes exactly two operands" % op)
        getter, flags = field_getter(args[0])
        want = args[1]
        split_ts = bool(flags & QFF_SPLIT_TIMESTAMP)
        if op == OP_REGEXP:
            if not isinstance(want, str):
                _fail("Regular expression must be a string")
            try:
                rx = re.compile(want)
            except re.error as err:
                _fail("Invalid regular expression '%s': %s" % (want, err))

            def match(c, i):
                v = getter(c, i)
                return isinstance(v, str) and rx.search(v) is not None
            return match
        if op == OP_CONTAINS:
            def contains(c, i):
                v = getter(c, i)
                return isinstance(v, (list, tuple)) and want in v
            return contains
        hostname = bool(flags & QFF_HOSTNAME)

        def compare(c, i):
            v = getter(c, i)
            if isinstance(v, Special):
                return False
            v = _cmp_value(v, split_ts)
            if op in (OP_EQUAL, OP_EQUAL_LEGACY, OP_NOT_EQUAL):
                eq = v == want or (hostname and isinstance(v, str) and isinstance(want, str)
                                   and v.startswith(want + "."))
                return eq if op != OP_NOT_EQUAL else not eq
            try:
                if op == OP_LT:
                    return v < want
                if op == OP_LE:
                    return v <= want
                if op == OP_GT:
                    return v > want
                return v >= want
            except TypeError:
                return False
        return compare

    return build(qfilter)
