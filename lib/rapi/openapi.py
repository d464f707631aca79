"""OpenAPI 3.1 description of the RAPI, generated from the resource table.

Generated rather than written so that the document cannot drift from what
the daemon serves: it is built from the same :class:`~ganeti.rapi.base.
Resource` list that routes requests and decides access. Served at
``GET /2/openapi.json`` and written by ``ganeti-rapi --write-openapi FILE``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ganeti import constants
from ganeti.rapi.base import ACCESS_READ, ACCESS_WRITE, Resource

#: query arguments whose values are upstream's 0/1 booleans
BOOL_QUERY_ARGS = frozenset(("bulk", "dry-run", "force", "lock", "static", "no_remember",
                             "ignore_secondaries", "ignore_size", "auto-promote",
                             "allocatable", "nostartup", "live"))
_QUERY_DOCS = {
    "bulk": "Return full objects instead of names and URIs",
    "dry-run": "Only check the request, change nothing",
    "force": "Force the operation",
    "lock": "Use locking for the query",
    "reason": "Reason for the change (reason trail entry gnt:user)",
    "tag": "A tag (repeat the argument for several)",
}
_PARAM_RE = re.compile(r"\{([^}/]+)\}")

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error answer",
    "properties": {"code": {"type": "integer", "description": "HTTP status"},
                   "message": {"type": "string"},
                   "explain": {"type": "string"}},
    "required": ["code", "message", "explain"],
}
_ERRORS = {"400": "Invalid request", "401": "Authentication needed",
           "403": "The user lacks the access this method needs",
           "404": "Unknown resource or object", "411": "Body without Content-Length",
           "413": "Body too large", "415": "Body is not application/json",
           "501": "Method not supported for this path",
           "502": "Master daemon unreachable", "503": "Job queue full or drained",
           "504": "Master daemon timed out"}


def _query_param(name: str) -> dict:
    schema: dict[str, Any] = {"type": "integer", "enum": [0, 1]} \
        if name in BOOL_QUERY_ARGS else {"type": "string"}
    param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
    if name == "tag":
        param["schema"] = {"type": "array", "items": {"type": "string"}}
        param["style"], param["explode"] = "form", True
    if name in _QUERY_DOCS:
        param["description"] = _QUERY_DOCS[name]
    return param


def _operation(res: Resource, verb: str) -> dict:
    meth = res.methods[verb]
    access = list(meth.required_access(verb))
    op: dict[str, Any] = {
        "operationId": "%s_%s" % (verb.lower(), re.sub(r"[^A-Za-z0-9_]", "_", res.name)),
        "summary": meth.summary,
        "tags": [_tag(res.path)],
        "x-ganeti-access": access,
    }
    if res.doc:
        op["description"] = res.doc
    params = [_query_param(q) for q in meth.query_args]
    if params:
        op["parameters"] = params
    # access [] is open unless the daemon runs with --require-authentication
    op["security"] = [{"basic": []}] if access else [{}, {"basic": []}]
    if meth.body is not None:
        op["requestBody"] = {"required": False, "content": {
            "application/json": {"schema": meth.body}}}
    if meth.returns is not None:
        ok_schema = meth.returns
    elif meth.job:
        ok_schema = {"type": "integer", "description": "Job ID"}
    else:
        ok_schema = {}
    responses: dict[str, Any] = {"200": {
        "description": "Job ID of the submitted job" if meth.job else "Success",
        "content": {"application/json": {"schema": ok_schema}}}}
    err_codes = ["400", "404", "501", "502", "503", "504"]
    if access:
        err_codes += ["401", "403"]
    if meth.body is not None:
        err_codes += ["411", "413", "415"]
    for code in sorted(set(err_codes)):
        responses[code] = {"$ref": "#/components/responses/E%s" % code}
    op["responses"] = responses
    return op


def _tag(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "2":
        return parts[1]
    return "general"


def generate(resources: list[Resource]) -> dict:
    """The OpenAPI document (a JSON-serializable dict) for ``resources``."""
    paths: dict[str, Any] = {}
    for res in sorted(resources, key=lambda r: r.path):
        item: dict[str, Any] = {}
        names = _PARAM_RE.findall(res.path)
        if names:
            item["parameters"] = [{"name": n, "in": "path", "required": True,
                                   "schema": {"type": "string"}} for n in names]
        for verb in sorted(res.methods):
            if verb in ("GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS"):
                item[verb.lower()] = _operation(res, verb)
        paths[res.path] = item
    paths["/2/openapi.json"] = {"get": {
        "operationId": "get_openapi", "summary": "This OpenAPI document",
        "tags": ["general"], "security": [{}],
        "responses": {"200": {"description": "OpenAPI 3.1 document",
                              "content": {"application/json": {"schema": {"type": "object"}}}}}}}
    responses = {"E%s" % code: {"description": text, "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for code, text in _ERRORS.items()}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Ganeti Remote API",
            "version": "2",
            "description": "Remote API version 2 of ganeti-py %s. Access: methods with"
                           " x-ganeti-access [] need no authentication unless the daemon"
                           " runs with --require-authentication; otherwise the user needs"
                           " one of the listed options (%s, %s) in the RAPI users file."
                           % (constants.RELEASE_VERSION, ACCESS_READ, ACCESS_WRITE),
        },
        "servers": [{"url": "https://localhost:%d" % constants.DEFAULT_RAPI_PORT}],
        "paths": paths,
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic",
                                          "description": 'realm "Ganeti Remote API"'}},
            "schemas": {"Error": ERROR_SCHEMA},
            "responses": responses,
        },
    }


def write(resources: list[Resource], path: str) -> None:
    """Write the document to ``path`` (pretty-printed, for the docs)."""
    text = json.dumps(generate(resources), indent=2, sort_keys=True) + "\n"
    if path == "-":
        import sys
        sys.stdout.write(text)
        return
    from ganeti.utils import io
    io.write_file_atomic(path, text.encode("utf-8"), mode=0o644)
