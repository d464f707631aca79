"""The query filter language: text form -> JSON form -> predicate.

Three layers, kept in one module because they share the operator set:

* :func:`parse_filter` turns what a user types after ``-F`` (spec/fields.md
  §2.2) into the JSON form that travels over LUXI and RAPI (§2.1).
  pyparsing is imported only inside it: every gnt-* command imports this
  module for :func:`make_filter`, and most never parse a filter.
* :func:`make_filter` decides how CLI arguments become a filter (names,
  DNS globs, numeric job ids, or one filter expression).
* :func:`compile_filter` checks a JSON filter against a field table once
  and returns a plain predicate, so evaluation per item does no parsing,
  no field lookup and no regex compilation.
"""

from __future__ import annotations

import re

from ganeti import errors

TYPE_CHECKING = False   # typing costs ~10 ms of every command's start-up
if TYPE_CHECKING:
    from typing import Any, Callable

OP_OR = "|"
OP_AND = "&"
OP_NOT = "!"
OP_TRUE = "?"
OP_EQUAL = "=="
OP_EQUAL_LEGACY = "="
OP_NOT_EQUAL = "!="
OP_LT = "<"
OP_LE = "<="
OP_GT = ">"
OP_GE = ">="
OP_REGEXP = "=~"
OP_CONTAINS = "=[]"

LOGIC_OPS = frozenset([OP_OR, OP_AND])
UNARY_OPS = frozenset([OP_NOT, OP_TRUE])
ORDER_OPS = frozenset([OP_LT, OP_LE, OP_GT, OP_GE])
BINARY_OPS = frozenset([OP_EQUAL, OP_EQUAL_LEGACY, OP_NOT_EQUAL, OP_REGEXP,
                        OP_CONTAINS]) | ORDER_OPS
ALL_OPS = LOGIC_OPS | UNARY_OPS | BINARY_OPS

#: Field flags that change how filters treat a field (set in field tables).
QFF_HOSTNAME = 0x01         # "==" with a short name matches the FQDN
QFF_JOB_ID = 0x02           # string filter values are job ids (converted to int)
QFF_SPLIT_TIMESTAMP = 0x04  # [sec, usec] values compare on their seconds

#: A single CLI argument containing one of these is parsed as a filter.
FILTER_DETECTION_CHARS = frozenset("()=/!~'\"\\<>" + " \t\n\r\f\v")
#: An argument containing one of these is a DNS-style glob.
GLOB_DETECTION_CHARS = frozenset("*?")

_REGEXP_DELIMITERS = "/#^|;"
_REGEXP_FLAGS = frozenset("is")

_parser: Any = None


# --- text form ---------------------------------------------------------------

def glob_to_regex(glob: str) -> str:
    """DNS-style glob to an anchored regex.

    ``*`` and ``?`` never cross a dot, and the pattern may match either
    the whole name or the name plus any domain suffix, so ``web*``
    selects ``web1`` and ``web1.example.com`` but not ``web1x.y`` via
    ``*.y``-style accidents.
    """
    parts = []
    for char in glob:
        if char == "*":
            parts.append("[^.]*")
        elif char == "?":
            parts.append("[^.]")
        else:
            parts.append(re.escape(char))
    return "^%s(\\..*)?$" % "".join(parts)


def _regex_action(text: str, loc: int, toks: Any) -> str:
    """Validate a ``m/re/flags`` literal and turn it into a Python regex."""
    import pyparsing as pp
    literal = toks[0]
    body = literal[1:] if literal.startswith("m") else literal
    delim = body[0]
    end = body.rindex(delim)
    pattern = body[1:end].replace("\\" + delim, delim)
    flags = body[end + 1:]
    unknown = sorted(set(flags) - _REGEXP_FLAGS)
    if unknown:
        raise pp.ParseFatalException(text, loc, "Unknown regular expression flag(s) '%s'"
                                     " (only 'i' and 's' are supported)" % "".join(unknown))
    if flags:
        pattern = "(?%s)%s" % ("".join(sorted(set(flags))), pattern)
    try:
        re.compile(pattern)
    except re.error as err:
        raise pp.ParseFatalException(text, loc, "Invalid regular expression '%s': %s"
                                     % (pattern, err))
    return pattern


def _build_parser() -> Any:
    """Grammar of spec/fields.md §2.2; precedence not > and > or."""
    import pyparsing as pp

    field = pp.Regex(r"[A-Za-z][A-Za-z0-9_/.]*").set_name("field name")
    integer = pp.Regex(r"[-+]?\d+").set_name("integer")
    integer.set_parse_action(lambda toks: int(toks[0]))
    string = (pp.QuotedString('"', esc_char="\\") |
              pp.QuotedString("'", esc_char="\\")).set_name("quoted string")
    value = (string | integer).set_name("value")
    delims = "".join("\\" + d for d in _REGEXP_DELIMITERS)
    regex = pp.Regex(r"m?(?P<d>[%s])(?:\\.|(?!(?P=d)).)*(?P=d)[A-Za-z]*" % delims)
    regex.set_name("regular expression (/.../flags)")
    regex.set_parse_action(_regex_action)
    # a keyword must not be the start of a field name such as "or/x" or "in.y"
    field_chars = pp.alphanums + "_/."
    kw_not, kw_and, kw_or, kw_in = (pp.Keyword(k, ident_chars=field_chars)
                                    for k in ("not", "and", "or", "in"))

    def binary(toks: Any) -> list:
        op = OP_EQUAL if toks[1] == OP_EQUAL_LEGACY else toks[1]
        return [[op, toks[0], toks[2]]]

    def regex_cond(toks: Any) -> list:
        expr = [OP_REGEXP, toks[0], toks[2]]
        return [expr if toks[1] == "=~" else [OP_NOT, expr]]

    def glob_cond(toks: Any) -> list:
        expr = [OP_REGEXP, toks[0], glob_to_regex(toks[2])]
        return [expr if toks[1] == "=*" else [OP_NOT, expr]]

    def in_cond(toks: Any) -> list:
        if len(toks) == 4:
            return [[OP_NOT, [OP_CONTAINS, toks[3], toks[0]]]]
        return [[OP_CONTAINS, toks[2], toks[0]]]

    reserved = kw_not | kw_and | kw_or | kw_in
    conditions = [
        (value + pp.Optional(kw_not) + kw_in - field).set_parse_action(in_cond),
        (field + pp.one_of("=~ !~") - regex).set_parse_action(regex_cond),
        (field + pp.one_of("=* !*") - string).set_parse_action(glob_cond),
        (field + pp.one_of("== != <= >= < > =") - value).set_parse_action(binary),
        (~reserved + field).set_parse_action(lambda toks: [[OP_TRUE, toks[0]]]),
    ]
    condition = pp.MatchFirst(conditions).set_name("condition")

    expr = pp.Forward().set_name("filter")
    atom = (pp.Suppress("(") - expr - pp.Suppress(")")) | condition
    negation = pp.Forward().set_name("condition")
    negation <<= ((pp.Suppress(kw_not) - negation).set_parse_action(
        lambda toks: [[OP_NOT, toks[0]]]) | atom).set_name("condition")

    def nary(op: str) -> Callable[[Any], Any]:
        def action(toks: Any) -> Any:
            items = list(toks)
            return [items[0]] if len(items) == 1 else [[op] + items]
        return action

    conjunction = (negation + pp.ZeroOrMore(pp.Suppress(kw_and) - negation)
                   ).set_parse_action(nary(OP_AND))
    expr <<= (conjunction + pp.ZeroOrMore(pp.Suppress(kw_or) - conjunction)
              ).set_parse_action(nary(OP_OR))
    return (expr + pp.StringEnd()).parse_with_tabs()


def _plain(value: Any) -> Any:
    """pyparsing results (which may wrap our lists) to plain JSON lists."""
    if isinstance(value, (str, int)):
        return value
    return [_plain(v) for v in value]


def parse_filter(text: str) -> list:
    """Parse the text form of a filter into its JSON form.

    Raises QueryFilterParseError whose details are the offending line, a
    caret under the failing column and pyparsing's explanation, which is
    what the CLI prints under "Error while parsing query filter".
    """
    global _parser
    import pyparsing as pp
    if _parser is None:
        _parser = _build_parser()
    try:
        result = _parser.parse_string(text, parse_all=True)
    except pp.ParseBaseException as err:
        detail = str(err)
        raise errors.QueryFilterParseError(
            "Failed to parse query filter '%s': %s" % (text, detail),
            err.line, " " * (err.column - 1) + "^", detail)
    except RecursionError:
        raise errors.QueryFilterParseError("Failed to parse query filter '%s': nested too"
                                           " deeply" % text)
    return _plain(result[0])


def _is_filter_text(text: str) -> bool:
    return not FILTER_DETECTION_CHARS.isdisjoint(text)


def _is_glob(text: str) -> bool:
    return not GLOB_DETECTION_CHARS.isdisjoint(text)


def make_filter(args: list[str], force_filter: bool, namefield: str = "name",
                isnumeric: bool = False) -> list | None:
    """Build the query filter for a list command's positional arguments.

    No arguments select everything (None). A single argument that looks
    like an expression (or any argument with -F) is parsed; otherwise
    each argument is a name, a DNS glob, or (``isnumeric``, i.e. job ids)
    a number, and the results are or-ed.
    """
    if not args:
        return None
    if force_filter or (len(args) == 1 and _is_filter_text(args[0])):
        if len(args) != 1:
            raise errors.OpPrereqError("A query filter (-F/--filter) takes only one argument,"
                                       " %d were given" % len(args), errors.ECODE_INVAL)
        return parse_filter(args[0])
    parts: list = [OP_OR]
    for arg in args:
        if isnumeric:
            if not re.fullmatch(r"\s*[-+]?\d+\s*", arg):
                raise errors.OpPrereqError("Invalid job ID passed: '%s' is not a number" % arg,
                                           errors.ECODE_INVAL)
            parts.append([OP_EQUAL, namefield, int(arg)])
        elif _is_glob(arg):
            parts.append([OP_REGEXP, namefield, glob_to_regex(arg)])
        else:
            parts.append([OP_EQUAL, namefield, arg])
    return parts


def filter_names(qfilter: Any, namefield: str) -> list | None:
    """Names selected by a filter made only of or-ed name equalities.

    A query can then fetch just those items instead of scanning all of
    them; the filter must still be applied (hostname matching, globs).
    Returns None when the filter is anything else; duplicates are dropped.
    """
    names: list = []

    def collect(node: Any) -> bool:
        if not isinstance(node, list) or not node:
            return False
        if node[0] in (OP_EQUAL, OP_EQUAL_LEGACY):
            if len(node) == 3 and node[1] == namefield and \
                    isinstance(node[2], (str, int)) and not isinstance(node[2], bool):
                if node[2] not in names:
                    names.append(node[2])
                return True
            return False
        if node[0] == OP_OR:
            return all(collect(sub) for sub in node[1:])
        return False

    return names if collect(qfilter) else None


def filter_fields(qfilter: Any) -> set[str]:
    """Names of all fields a (well-formed) filter looks at.

    Lets a query gather the data the filter needs, not only the data of
    the requested output fields.
    """
    found: set[str] = set()

    def walk(node: Any) -> None:
        if not isinstance(node, list) or not node:
            return
        if node[0] in LOGIC_OPS or node[0] == OP_NOT:
            for sub in node[1:]:
                walk(sub)
        elif len(node) > 1 and isinstance(node[1], str):
            found.add(node[1])

    walk(qfilter)
    return found


# --- evaluation ----------------------------------------------------------------

def _fail(msg: str) -> None:
    raise errors.QueryFilterParseError(msg)


def _same_json_type(a: Any, b: Any) -> bool:
    """JSON does not equate true with 1; Python does."""
    return isinstance(a, bool) == isinstance(b, bool)


def _equal(value: Any, want: Any, hostname: bool) -> bool:
    if not _same_json_type(value, want):
        return False
    if value == want:
        return True
    return (hostname and isinstance(value, str) and isinstance(want, str) and
            value.startswith(want + "."))


def _order(op: str, value: Any, want: Any) -> bool:
    numbers = (int, float)
    if isinstance(value, bool) or isinstance(want, bool):
        return False
    if not ((isinstance(value, numbers) and isinstance(want, numbers)) or
            (isinstance(value, str) and isinstance(want, str))):
        return False
    if op == OP_LT:
        return value < want
    if op == OP_LE:
        return value <= want
    if op == OP_GT:
        return value > want
    return value >= want


class _Compiler:
    """Turns one JSON filter into nested closures over a field table."""

    def __init__(self, table: dict):
        self._table = table
        from ganeti.query import Special
        self._special = Special

    def field(self, name: Any) -> Any:
        if not isinstance(name, str):
            _fail("Field name in query filter must be a string, got %r" % (name,))
        entry = self._table.get(name)
        if entry is None:
            _fail("Unknown field '%s' in query filter" % name)
        return entry

    def build(self, node: Any) -> Callable[[Any, Any], bool]:
        if not isinstance(node, list) or not node:
            _fail("Invalid query filter %r: expected a list starting with an operator"
                  % (node,))
        op, args = node[0], node[1:]
        if not isinstance(op, str) or op not in ALL_OPS:
            _fail("Unknown operator %r in query filter" % (op,))
        if op in LOGIC_OPS:
            subs = [self.build(a) for a in args]
            if op == OP_AND:
                return lambda ctx, item: all(f(ctx, item) for f in subs)
            return lambda ctx, item: any(f(ctx, item) for f in subs)
        if op in UNARY_OPS:
            if len(args) != 1:
                _fail("Operator '%s' takes exactly one operand, got %d" % (op, len(args)))
            if op == OP_NOT:
                sub = self.build(args[0])
                return lambda ctx, item: not sub(ctx, item)
            return self.truth(self.field(args[0]))
        if len(args) != 2:
            _fail("Operator '%s' takes exactly two operands (field, value), got %d"
                  % (op, len(args)))
        return self.binary(op, self.field(args[0]), args[1])

    def truth(self, entry: Any) -> Callable[[Any, Any], bool]:
        getter, special = entry.getter, self._special

        def check(ctx: Any, item: Any) -> bool:
            value = getter(ctx, item)
            return not isinstance(value, special) and bool(value)
        return check

    def binary(self, op: str, entry: Any, want: Any) -> Callable[[Any, Any], bool]:
        if isinstance(want, (list, dict)) or want is None:
            _fail("Invalid value %r for operator '%s': must be a string or a number"
                  % (want, op))
        getter, special, flags = entry.getter, self._special, entry.flags
        if flags & QFF_JOB_ID and isinstance(want, str):
            try:
                want = int(want)
            except ValueError:
                _fail("Invalid job ID '%s' in query filter" % want)
        if op == OP_REGEXP:
            if not isinstance(want, str):
                _fail("Regular expression in query filter must be a string, got %r" % (want,))
            try:
                regex = re.compile(want)
            except re.error as err:
                _fail("Invalid regular expression '%s' in query filter: %s" % (want, err))

            def search(ctx: Any, item: Any) -> bool:
                value = getter(ctx, item)
                return isinstance(value, str) and regex.search(value) is not None
            return search
        if op == OP_CONTAINS:
            def contains(ctx: Any, item: Any) -> bool:
                value = getter(ctx, item)
                return isinstance(value, (list, tuple)) and \
                    any(_equal(v, want, False) for v in value)
            return contains
        split_ts = bool(flags & QFF_SPLIT_TIMESTAMP)
        hostname = bool(flags & QFF_HOSTNAME)

        def compare(ctx: Any, item: Any) -> bool:
            value = getter(ctx, item)
            if isinstance(value, special):
                return False
            if split_ts and isinstance(value, (list, tuple)) and len(value) == 2:
                value = value[0]
            if op in (OP_EQUAL, OP_EQUAL_LEGACY):
                return _equal(value, want, hostname)
            if op == OP_NOT_EQUAL:
                return not _equal(value, want, hostname)
            return _order(op, value, want)
        return compare


def compile_filter(fields_by_name: dict, qfilter: Any) -> Callable[[Any, Any], bool]:
    """Check a JSON filter and build a predicate ``fn(ctx, item) -> bool``.

    ``fields_by_name`` maps names to table entries with ``getter`` and
    ``flags`` (see ganeti.query.Field). Everything that can be wrong with
    the filter (unknown operator or field, arity, bad regex or value) is
    reported here as QueryFilterParseError, before any item is looked at.
    A field whose value is not available (nodata, offline, ...) never
    satisfies a comparison. None means "match everything".
    """
    if qfilter is None:
        return lambda ctx, item: True
    try:
        return _Compiler(fields_by_name).build(qfilter)
    except RecursionError:
        raise errors.QueryFilterParseError("Query filter is nested too deeply")
