"""Command framework of the gnt-* programs.

Each program is a table ``{subcommand: Command}``; this module parses
options (optparse, options before arguments as upstream), prints usage
the way upstream does, maps exceptions to messages and exit codes, and
keeps imports lazy so a simple command starts in a few milliseconds.
"""

from __future__ import annotations

import optparse
import os
import shlex
import sys
from typing import Callable, NamedTuple

from ganeti import constants, errors


class Command(NamedTuple):
    fn: Callable
    args: str                # usage text of positional arguments
    options: list            # option names from cli.options.OPTIONS
    description: str
    min_args: int = 0
    max_args: int | None = None


class _Parser(optparse.OptionParser):
    def __init__(self, binary: str, usage_line: str, **kw):
        self._binary = binary
        self._usage_line = usage_line
        super().__init__(usage=usage_line, prog=binary, add_help_option=True, **kw)
        self.disable_interspersed_args()

    def get_usage(self) -> str:
        return "Usage\n=====\n  %s\n\n" % self._usage_line

    def error(self, msg: str):
        self.print_usage(sys.stderr)
        sys.stderr.write("%s: error: %s\n" % (self._binary, msg))
        sys.exit(2)


def _usage(binary: str, commands: dict) -> str:
    lines = ["Usage: %s {command} [options...] [argument...]" % binary,
             "%s <command> --help to see details, or man %s" % (binary, binary), "",
             "Commands:"]
    width = max(len(c) for c in commands)
    for name in sorted(commands):
        lines.append("  %-*s - %s" % (width, name, commands[name].description))
    return "\n".join(lines) + "\n"


def run(binary: str, commands: dict[str, Command], aliases: dict[str, str] | None = None,
        argv: list[str] | None = None) -> int:
    """Parse argv, run the subcommand, return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    aliases = aliases or {}
    if not argv:
        sys.stderr.write(_usage(binary, commands))
        return constants.EXIT_FAILURE
    if argv[0] == "--version":
        print("%s (ganeti-py) %s" % (binary, constants.RELEASE_VERSION))
        return constants.EXIT_SUCCESS
    if argv[0] in ("--help", "-h"):
        sys.stdout.write(_usage(binary, commands))
        return constants.EXIT_SUCCESS
    name = aliases.get(argv[0], argv[0])
    cmd = commands.get(name)
    if cmd is None:
        sys.stderr.write(_usage(binary, commands))
        sys.stderr.write("%s: error: unknown command '%s'\n" % (binary, argv[0]))
        return constants.EXIT_FAILURE
    rest = argv[1:]
    env_name = "%s_%s" % (binary.upper().replace("-", "_"), name.upper().replace("-", "_"))
    if env_name in os.environ:
        rest = shlex.split(os.environ[env_name]) + rest
    from ganeti.cli import options as optmod
    parser = _Parser(binary, "%s %s %s" % (binary, name, cmd.args))
    for opt in optmod.COMMON + cmd.options:
        parser.add_option(optmod.make(opt))
    try:
        opts, args = parser.parse_args(rest)
    except errors.GenericError as err:
        from ganeti.cli.errors import format_error
        code, text = format_error(err)
        sys.stderr.write(text + "\n")
        return code
    if len(args) < cmd.min_args or (cmd.max_args is not None and len(args) > cmd.max_args):
        parser.error("wrong number of arguments")
    opts.binary = binary
    opts.command = name
    try:
        result = cmd.fn(opts, args)
        return constants.EXIT_SUCCESS if result is None else int(result)
    except KeyboardInterrupt:
        sys.stderr.write("Aborted. Note that if the operation created any jobs, they might"
                         " have been submitted and will continue to run in the background.\n")
        return constants.EXIT_FAILURE
    except (errors.GenericError, OSError) as err:
        if getattr(opts, "debug", 0):
            import traceback
            traceback.print_exc()
        from ganeti.cli.errors import format_error
        code, text = format_error(err) if isinstance(err, errors.GenericError) else \
            (constants.EXIT_FAILURE, "Failure: %s" % err)
        sys.stderr.write(text + "\n")
        return code


def ask_user(question: str) -> bool:
    """Yes/no confirmation on the terminal (no terminal means no)."""
    if not sys.stdin.isatty():
        return False
    try:
        answer = input("%s y/[n]/?: " % question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
