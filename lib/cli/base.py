"""Command framework of the gnt-* programs.

Each program is a table ``{subcommand: Command}``. This module parses the
command line the way Ganeti does (optparse, options before arguments,
"Usage / =====" titles), maps exceptions to messages and exit codes, and
keeps imports lazy: a command only loads what it uses, so that a simple
``gnt-cluster version`` starts in a few milliseconds.
"""

from __future__ import annotations

import optparse
import os
import shlex
import sys

from ganeti import constants, errors

TYPE_CHECKING = False   # typing costs ~10 ms of every command's start-up
if TYPE_CHECKING:
    from typing import Any, Callable


class Command:
    """One subcommand: function, usage text of its arguments, option names.

    ``options`` holds names from ``ganeti.cli.options.OPTIONS`` (the one
    option table) or ready ``optparse.Option`` objects for one-off options.
    (A plain class: typing.NamedTuple would import typing at every start-up.)
    """

    __slots__ = ("fn", "args", "options", "description", "min_args", "max_args")

    def __init__(self, fn: Callable, args: str, options: list, description: str,
                 min_args: int = 0, max_args: int | None = None):
        self.fn = fn
        self.args = args
        self.options = options
        self.description = description
        self.min_args = min_args
        self.max_args = max_args

    def _replace(self, **changes: Any) -> "Command":
        """A copy with some fields changed (as namedtuples offer)."""
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return Command(**values)


class JobSubmitted(Exception):
    """Raised after ``--submit`` sent a job: the command stops, "JobID: N" is shown.

    Using an exception (as upstream does) means a command never has to
    check whether it should go on printing results of a job it did not wait for.
    """


class _Parser(optparse.OptionParser):
    """optparse with Ganeti's titled help and error output (usage, then the error)."""

    def __init__(self, binary: str, usage: str, description: str, option_list: list):
        super().__init__(option_list=option_list, description=description, prog=binary,
                         formatter=optparse.TitledHelpFormatter(), usage=usage)
        self.disable_interspersed_args()


def _format_usage(binary: str, commands: dict[str, Command]) -> list[str]:
    """The program-level help listing every subcommand (upstream's layout)."""
    import textwrap
    width = min(60, max(len(name) for name in commands))
    lines = ["Usage: %s {command} [options...] [argument...]" % binary,
             "%s <command> --help to see details, or man %s" % (binary, binary), "",
             "Commands:"]
    for name in sorted(commands):
        help_lines = textwrap.wrap(commands[name].description, 79 - 3 - width) or [""]
        lines.append(" %-*s - %s" % (width, name, help_lines[0]))
        lines.extend(" %-*s   %s" % (width, "", extra) for extra in help_lines[1:])
    lines.append("")
    return lines


def _check_args(name: str, cmd: Command, args: list[str]) -> bool:
    """Argument count check with upstream's messages; False means exit 1."""
    if args and cmd.max_args == 0:
        sys.stderr.write("Error: Command %s expects no arguments\n" % name)
        return False
    if cmd.max_args is not None and cmd.min_args == cmd.max_args and \
            len(args) != cmd.min_args:
        sys.stderr.write("Error: Command %s expects %d argument(s)\n" % (name, cmd.min_args))
        return False
    if cmd.max_args is not None and len(args) > cmd.max_args:
        sys.stderr.write("Error: Command %s expects only %d argument(s)\n" %
                         (name, cmd.max_args))
        return False
    if len(args) < cmd.min_args:
        sys.stderr.write("Error: Command %s expects at least %d argument(s)\n" %
                         (name, cmd.min_args))
        return False
    return True


def _build_options(cmd: Command) -> list[optparse.Option]:
    from ganeti.cli import options as optmod
    out = []
    for opt in list(cmd.options) + optmod.COMMON:
        out.append(opt if isinstance(opt, optparse.Option) else optmod.make(opt))
    return out


def run(binary: str, commands: dict[str, Command], aliases: dict[str, str] | None = None,
        argv: list[str] | None = None,
        env_override: frozenset[str] = frozenset(["list"])) -> int:
    """Parse argv, run the subcommand, return the exit code.

    ``env_override`` names the subcommands whose default arguments may come
    from ``GNT_<BINARY>_<COMMAND>`` (e.g. ``GNT_INSTANCE_LIST``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    aliases = {a: t for a, t in (aliases or {}).items() if t in commands}
    if not argv or (argv[0] not in commands and argv[0] not in aliases and
                    argv[0] != "--version"):
        _print_lines(_format_usage(binary, commands))
        return constants.EXIT_SUCCESS if argv and argv[0] == "--help" else \
            constants.EXIT_FAILURE
    if argv[0] == "--version":
        print("%s (ganeti-py) %s" % (binary, constants.RELEASE_VERSION))
        return constants.EXIT_SUCCESS
    typed = argv[0]
    name = aliases.get(typed, typed)
    cmd = commands[name]
    rest = argv[1:]
    if name in env_override:
        env_name = ("%s_%s" % (binary.replace("-", "_"), name)).upper().replace("-", "_")
        if os.environ.get(env_name):
            rest = shlex.split(os.environ[env_name]) + rest
    opts = None
    try:
        parser = _Parser(binary, "%%prog %s %s" % (name, cmd.args), cmd.description,
                         _build_options(cmd))
        opts, args = parser.parse_args(rest)
        if not _check_args(name, cmd, args):
            return constants.EXIT_FAILURE
        opts.binary = binary
        opts.command = name
        opts.command_typed = typed
        result = cmd.fn(opts, args)
        return constants.EXIT_SUCCESS if result is None else int(result)
    except JobSubmitted as sub:
        # upstream writes this line to stderr; stdout lets "$(gnt-x ... --submit)" see it
        print("JobID: %s" % sub.args[0], flush=True)
        return constants.EXIT_SUCCESS
    except KeyboardInterrupt:
        sys.stderr.write("Aborted. Note that if the operation created any jobs, they might"
                         " have been submitted and will continue to run in the"
                         " background.\n")
        return constants.EXIT_FAILURE
    except BrokenPipeError:
        # the reader went away (e.g. "| head"): stop quietly, like upstream
        _silence_stdout()
        return constants.EXIT_FAILURE
    except errors.GenericError as err:
        _maybe_traceback(opts)
        from ganeti.cli.errors import format_error
        if isinstance(err, errors.NoMasterError):
            err = refine_no_master(err)
        code, text = format_error(err)
        sys.stderr.write(text + "\n")
        return code
    except Exception as err:  # noqa: BLE001 - last resort: a message, not a traceback
        _maybe_traceback(opts)
        from ganeti.cli.errors import format_error
        code, text = format_error(err)
        sys.stderr.write(text + "\n")
        return code


def _maybe_traceback(opts: Any) -> None:
    """Tracebacks only with -d: users get messages, developers get stacks."""
    if getattr(opts, "debug", 0):
        import traceback
        traceback.print_exc()


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def _print_lines(lines: list[str]) -> None:
    sys.stdout.write("".join(line + "\n" for line in lines))


def refine_no_master(err: errors.NoMasterError) -> errors.GenericError:
    """Explain a missing master socket: no cluster here, or the master is elsewhere.

    Upstream does the same check so that running a command on the wrong node
    says where to go instead of "cannot connect".
    """
    from ganeti import ssconf
    store = ssconf.SimpleStore()
    try:
        master = store.get_master_node()
    except errors.ConfigurationError:
        return errors.ConfigurationError("cluster not initialized or this machine is not"
                                         " part of a cluster")
    try:
        me = ssconf.my_hostname()
    except Exception:  # noqa: BLE001 - name lookup trouble must not hide the real error
        return err
    if master != me:
        return errors.NotMasterError("This is not the master node, please connect to node"
                                     " '%s' and rerun the command" % master)
    return err


def ask_user(question: str, choices: list[tuple[str, Any, str]] | None = None) -> Any:
    """Ask on the terminal; without a terminal the last choice (the safe one) wins."""
    import textwrap
    if choices is None:
        choices = [("y", True, "Perform the operation"),
                   ("n", False, "Do not perform the operation")]
    answer = choices[-1][1]
    text = "\n".join(textwrap.fill(line, 70, replace_whitespace=False)
                     for line in question.splitlines())
    try:
        tty = open("/dev/tty", "a+")
    except OSError:
        return answer
    with tty:
        chars = [c[0] for c in choices]
        chars[-1] = "[%s]" % chars[-1]
        chars.append("?")
        answers = {c[0]: c[1] for c in choices}
        while True:
            tty.write("%s\n%s: " % (text, "/".join(chars)))
            tty.flush()
            line = tty.readline(2).strip().lower()
            if line in answers:
                return answers[line]
            if line == "?":
                for entry in choices:
                    tty.write(" %s - %s\n" % (entry[0], entry[2]))
                tty.write("\n")
                continue
            if not line:
                return answer


# --- generic "info" output (YAML-like), as printed by gnt-* info commands ---

def _not_container(value: Any) -> bool:
    return not isinstance(value, (list, dict, tuple))


def _serialize(buf: list[str], data: Any, level: int, afterkey: bool = False) -> None:
    """Write the YAML-like rendering of ``data`` into ``buf`` (a stream of chunks).

    Rules (Ganeti's): dicts sorted by key; lists of tuples are ordered
    dicts whose optional third element aligns the values of one group;
    tuples of scalars are inline ``[a, b]``; other lists are ``- item``
    lines; an empty container leaves "key: " with nothing after it.
    ``afterkey`` says we are in the middle of a "key: " line.
    """
    ind = "  "
    ordered = isinstance(data, list) and bool(data) and isinstance(data[0], tuple)
    if isinstance(data, dict) or ordered:
        if not data:
            buf.append("\n")
            return
        entries = data if ordered else [(key, data[key]) for key in sorted(data)]
        widths: dict[Any, int] = {}
        for entry in entries:
            if len(entry) > 2:
                widths[entry[2]] = max(widths.get(entry[2], 0), len(entry[0]))
        if afterkey:
            buf.append("\n")
        indent = afterkey
        for entry in entries:
            if indent:
                buf.append(ind * level)
            indent = True
            buf.append("%s: " % (entry[0],))
            if len(entry) > 2:
                buf.append(" " * (widths[entry[2]] - len(entry[0])))
            _serialize(buf, entry[1], level + 1, afterkey=True)
    elif isinstance(data, tuple) and all(_not_container(v) for v in data):
        buf.append("[%s]\n" % ", ".join(str(v) for v in data))
    elif isinstance(data, (list, tuple)):
        if not data:
            buf.append("\n")
            return
        if afterkey:
            buf.append("\n")
        indent = afterkey
        for item in data:
            if indent:
                buf.append(ind * level)
            indent = True
            buf.append("- ")
            _serialize(buf, item, level + 1)
    else:
        buf.append("%s\n" % (data,))


def format_generic_info(data: Any) -> list[str]:
    """Lines of Ganeti's generic info format (job/cluster/instance info)."""
    buf: list[str] = []
    _serialize(buf, data, 0)
    text = "".join(buf).rstrip("\n")
    return text.split("\n") if text else []


def print_generic_info(data: Any) -> None:
    _print_lines(format_generic_info(data))


def format_time(secs: float | None, usecs: int | None = None) -> str:
    """Local time as "YYYY-MM-DD HH:MM:SS[.uuuuuu]"; "?" when unknown."""
    import time
    if secs is None:
        return "?"
    text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(secs))
    if usecs is not None:
        text += ".%06d" % usecs
    return text


def format_timestamp(ts: Any) -> str:
    """A job timestamp ``[sec, usec]`` as text; "?" for anything else."""
    if not isinstance(ts, (list, tuple)) or len(ts) != 2:
        return "?"
    return format_time(ts[0], ts[1])


def to_roman(value: Any, convert: bool = True) -> Any:
    """Positive ints as roman numerals (for --roman); anything else unchanged."""
    if not convert or isinstance(value, bool) or not isinstance(value, int) or \
            not 0 < value < 4000:
        return value
    out = []
    for number, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"),
                            (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"),
                            (5, "V"), (4, "IV"), (1, "I")):
        while value >= number:
            out.append(letters)
            value -= number
    return "".join(out)


def grouped_params(params: dict, roman: bool = False) -> dict:
    """Nested parameter dicts with every leaf as text, as info commands show them."""
    out: dict = {}
    for key, value in params.items():
        if isinstance(value, dict):
            out[key] = grouped_params(value, roman)
        elif roman and isinstance(value, int) and not isinstance(value, bool):
            out[key] = to_roman(value)
        else:
            out[key] = str(value)
    return out


def params_info(own: dict, actual: dict, roman: bool) -> dict:
    """Effective parameters as text, those not set in ``own`` shown as "default (X)"."""
    out: dict = {}
    for key, data in actual.items():
        if isinstance(data, dict) and data:
            out[key] = params_info(own.get(key, {}), data, roman)
        else:
            out[key] = str(to_roman(own.get(key, "default (%s)" % to_roman(data, roman)),
                                    roman))
    return out


def policy_info(ipolicy: dict, roman: bool) -> list:
    """A cluster instance policy as ordered info data ("bounds specs", "std", ...).

    Values print as given; missing ones as "default (...)" like upstream.
    """
    minmax_out = []
    for index, minmax in enumerate(ipolicy.get("minmax") or []):
        minmax_out.append([("%s/%s" % (key, index),
                            params_info(minmax.get(key, {}), minmax.get(key, {}), roman))
                           for key in ("max", "min")])
    std = ipolicy.get("std", {})
    out: list = [("bounds specs", minmax_out), ("std", params_info(std, std, roman)),
                 ("allowed disk templates", ", ".join(ipolicy.get("disk-templates") or []))]
    for key in ("vcpu-ratio", "spindle-ratio"):
        out.append((key, str(to_roman(ipolicy.get(key, "default"), roman))))
    return out
