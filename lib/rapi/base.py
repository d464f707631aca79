"""What the RAPI daemon and its resource handlers share.

One table (:data:`ganeti.rapi.resources.RESOURCES`, a list of
:class:`Resource`) routes requests, decides the access a method needs and
generates the OpenAPI description, so the three cannot drift apart.
Handlers are plain functions ``handler(ctx) -> JSON value``; the server
runs them in worker threads (they talk to the master over LUXI, which
blocks) and turns :class:`RapiError` and Ganeti errors into HTTP answers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ganeti import errors

ACCESS_READ = "read"
ACCESS_WRITE = "write"
#: access lists (spec/rapi.md §2): empty = anyone (or any valid user)
NO_AUTH: tuple[str, ...] = ()
WRITE: tuple[str, ...] = (ACCESS_WRITE,)
READ_WRITE: tuple[str, ...] = (ACCESS_WRITE, ACCESS_READ)


class RapiError(Exception):
    """An HTTP error answer: ``{"code": code, "message": message, "explain": explain}``."""

    REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
               405: "Method Not Allowed", 411: "Length Required", 413: "Request Entity Too Large",
               415: "Unsupported Media Type", 500: "Internal Server Error",
               501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
               504: "Gateway Timeout"}

    def __init__(self, code: int, message: str | None = None, explain: str = ""):
        super().__init__(message or self.REASONS.get(code, "Error"))
        self.code = code
        self.message = message or self.REASONS.get(code, "Error")
        self.explain = explain

    def body(self) -> dict:
        return {"code": self.code, "message": self.message, "explain": self.explain}


class RawJson:
    """An answer that is already JSON text (passed on without decoding it)."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


@dataclass
class Context:
    """One request as a handler sees it."""

    method: str
    path: str
    params: dict[str, str]              # captures of the path template
    query: dict[str, list[str]]         # query arguments (repeatable, e.g. tag=)
    body: Any                           # parsed JSON body, None without one
    user: str | None                    # authenticated user, None for anonymous
    resource_name: str                  # upstream handler name sans R_2_ (reason trail)
    luxi_factory: Callable[[], Any]     # a new ganeti.luxi.Client

    def luxi(self) -> Any:
        return self.luxi_factory()

    # query arguments ------------------------------------------------------------
    def query_str(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def query_list(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    def query_bool(self, name: str, default: bool = False) -> bool:
        """Upstream's boolean query arguments are integers: 0/1 (anything else: 400)."""
        value = self.query_str(name)
        if value is None:
            return default
        try:
            return bool(int(value))
        except ValueError:
            raise RapiError(400, "Invalid value for parameter '%s': '%s' (expected 0 or 1)"
                            % (name, value))

    def dry_run(self) -> bool:
        return self.query_bool("dry-run")

    def body_dict(self) -> dict:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise RapiError(400, "Invalid body contents, expected a JSON object")
        return dict(self.body)

    # jobs -----------------------------------------------------------------------------
    def reason_trail(self) -> list:
        now = time.time_ns()
        trail = [["gnt:library:rlib2:%s" % self.resource_name, "", now]]
        reason = self.query_str("reason")
        if reason:
            trail.insert(0, ["gnt:user", reason, now])
        return trail

    def submit(self, ops: list[dict]) -> int:
        """Submit one job of opcodes (dicts with OP_ID); the new job's id."""
        trail = self.reason_trail()
        for op in ops:
            op.setdefault("reason", []).extend(trail)
            if self.dry_run():
                op["dry_run"] = True
        return int(self.luxi().submit_job(ops))


@dataclass
class Method:
    """One HTTP method of a resource."""

    handler: Callable[[Context], Any]
    summary: str
    access: tuple[str, ...] | None = None   # None: default (GET anyone, others write)
    query_args: tuple[str, ...] = ()          # documented query arguments
    body: dict | None = None                  # JSON schema of the body (OpenAPI)
    returns: dict | None = None               # JSON schema of the answer (OpenAPI)
    job: bool = False                         # answers a job id

    def required_access(self, method: str) -> tuple[str, ...]:
        if self.access is not None:
            return self.access
        return NO_AUTH if method in ("GET", "HEAD") else WRITE


@dataclass
class Resource:
    """A path template (``/2/instances/{instance_name}``) and its methods."""

    path: str
    name: str                                  # e.g. "instances_name_startup"
    methods: dict[str, Method] = field(default_factory=dict)
    doc: str = ""


def ganeti_error_status(err: errors.GenericError) -> RapiError:
    """The HTTP answer for a Ganeti error raised while serving a request."""
    msg = str(err.args[0]) if err.args else str(err)
    if isinstance(err, errors.OpPrereqError):
        ecode = err.args[1] if len(err.args) > 1 else None
        return RapiError(404 if ecode == errors.ECODE_NOENT else 400, msg)
    if isinstance(err, (errors.JobQueueDrainError, errors.JobQueueFull)):
        return RapiError(503, msg)
    if isinstance(err, errors.TimeoutError):
        return RapiError(504, msg)
    if isinstance(err, (errors.NoMasterError, errors.ProtocolError)):
        return RapiError(502, "Can't connect to the master daemon: %s" % msg)
    if isinstance(err, (errors.ParameterError, errors.TypeEnforcementError,
                        errors.QueryFilterParseError, errors.ParseError)):
        return RapiError(400, msg)
    return RapiError(500, msg)
