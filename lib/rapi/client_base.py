"""Transport of the RAPI client: constants, errors, cURL set-up, one request.

:mod:`ganeti.rapi.client` re-exports everything public here; this module
exists so the client's ~80 resource methods and the HTTP machinery they
share stay in files of a readable size.

The transport is pycurl, like upstream's client, for two reasons: callers
written against upstream configure TLS with ``curl_config_fn`` functions
that receive a ``pycurl.Curl`` (``GenericCurlConfig`` or their own), and
libcurl keeps connections alive between requests made on the same handle.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import threading
import time
import urllib.parse
from typing import Any, Callable, Iterable, Sequence

import pycurl

GANETI_RAPI_PORT = 5080
GANETI_RAPI_VERSION = 2

HTTP_DELETE = "DELETE"
HTTP_GET = "GET"
HTTP_PUT = "PUT"
HTTP_POST = "POST"
HTTP_OK = 200
HTTP_NOT_FOUND = 404
HTTP_APP_JSON = "application/json"

REPLACE_DISK_PRI = "replace_on_primary"
REPLACE_DISK_SECONDARY = "replace_on_secondary"
REPLACE_DISK_CHG = "replace_new_secondary"
REPLACE_DISK_AUTO = "replace_auto"

NODE_EVAC_PRI = "primary-only"
NODE_EVAC_SEC = "secondary-only"
NODE_EVAC_ALL = "all"

NODE_ROLE_DRAINED = "drained"
NODE_ROLE_MASTER_CANDIDATE = "master-candidate"
NODE_ROLE_MASTER = "master"
NODE_ROLE_OFFLINE = "offline"
NODE_ROLE_REGULAR = "regular"

# job states and error classifications: the project's own names (upstream's
# client module defines the same ones)
from ganeti.constants import (JOB_STATUS_ALL, JOB_STATUS_CANCELED,  # noqa: E402,F401
                              JOB_STATUS_CANCELING, JOB_STATUS_ERROR, JOB_STATUS_QUEUED,
                              JOB_STATUS_RUNNING, JOB_STATUS_SUCCESS, JOB_STATUS_WAITING)
from ganeti.constants import JOBS_FINALIZED as JOB_STATUS_FINALIZED  # noqa: E402,F401
from ganeti.constants import JOBS_PENDING as JOB_STATUS_PENDING  # noqa: E402,F401
from ganeti.errors import (ECODE_ALL, ECODE_ENVIRON, ECODE_EXISTS, ECODE_FAULT,  # noqa: E402,F401
                           ECODE_INVAL, ECODE_NOENT, ECODE_NORES, ECODE_NOTUNIQUE,
                           ECODE_RESOLVER, ECODE_STATE, ECODE_TEMP_NORES)

#: the name Ganeti 2.6 and earlier used for "waiting"
JOB_STATUS_WAITLOCK = JOB_STATUS_WAITING

# optional server features (GET /2/features) the client adapts to
INST_CREATE_REQV1 = "instance-create-reqv1"
INST_REINSTALL_REQV1 = "instance-reinstall-reqv1"
NODE_MIGRATE_REQV1 = "node-migrate-reqv1"
NODE_EVAC_RES1 = "node-evac-res1"

#: body key announcing the version of an instance creation request
REQ_DATA_VERSION_FIELD = "__version__"

# libcurl error codes that mean "the TLS peer could not be trusted or spoken to"
_CURL_SSL_ERRORS = frozenset(getattr(pycurl, name) for name in (
    "E_SSL_CACERT", "E_SSL_CACERT_BADFILE", "E_SSL_CERTPROBLEM", "E_SSL_CIPHER",
    "E_SSL_CONNECT_ERROR", "E_SSL_CRL_BADFILE", "E_SSL_ENGINE_INITFAILED",
    "E_SSL_ENGINE_NOTFOUND", "E_SSL_ENGINE_SETFAILED", "E_SSL_INVALIDCERTSTATUS",
    "E_SSL_ISSUER_ERROR", "E_SSL_PEER_CERTIFICATE", "E_SSL_PINNEDPUBKEYNOTMATCH",
    "E_PEER_FAILED_VERIFICATION") if hasattr(pycurl, name))

QueryArgs = list[tuple[str, Any]]


class Error(Exception):
    """Base error class for this module, so callers can catch all client errors."""


class GanetiApiError(Error):
    """The server answered with an error, or could not be reached.

    ``code`` is the HTTP status for error answers (404, 401, 503, ...) and
    the libcurl error number when the request itself failed, so callers can
    tell "no such instance" from "the master is down".
    """

    def __init__(self, msg: str, code: int | None = None):
        Error.__init__(self, msg)
        self.code = code


class CertificateError(GanetiApiError):
    """The server's TLS certificate was not accepted (or TLS failed).

    A subclass of :class:`GanetiApiError` so generic error handling still
    catches it, yet callers can offer "check your CA file" advice.
    """


def EpochNano() -> int:
    """The current time in nanoseconds since the epoch: reason-trail timestamps."""
    return time.time_ns()


def UsesRapiClient(fn: Callable) -> Callable:
    """Decorator for programs using the client: initialise libcurl globally once.

    ``curl_global_init`` is not thread-safe, so upstream asks programs to
    wrap their main function; doing the same keeps such programs working.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        pycurl.global_init(pycurl.GLOBAL_ALL)
        try:
            return fn(*args, **kwargs)
        finally:
            pycurl.global_cleanup()

    return wrapper


def GenericCurlConfig(verbose: bool = False, use_signal: bool = False,
                      use_curl_cabundle: bool = False, cafile: str | None = None,
                      capath: str | None = None, proxy: str | None = None,
                      verify_hostname: bool = False, connect_timeout: float | None = None,
                      timeout: float | None = None,
                      _pycurl_version_fn: Callable[[], tuple] = pycurl.version_info
                      ) -> Callable[[pycurl.Curl], None]:
    """A ``curl_config_fn`` for :class:`GanetiRapiClient`: TLS trust, proxy, timeouts.

    The peer certificate is verified only when a CA source is given
    (``cafile``, ``capath`` or ``use_curl_cabundle``) -- the RAPI normally
    serves a self-signed ``rapi.pem``, and upstream's default is the same.
    ``verify_hostname`` additionally checks the name in the certificate.
    ``proxy=None`` keeps libcurl's default (environment), ``""`` disables
    proxies.  Timeouts are in seconds.
    """
    ssl_backend = _pycurl_version_fn()[5] if len(_pycurl_version_fn()) > 5 else None
    if (cafile or capath or use_curl_cabundle) and not ssl_backend:
        raise Error("libcurl was built without TLS support; cannot verify certificates")

    def _config(curl: pycurl.Curl) -> None:
        curl.setopt(pycurl.VERBOSE, bool(verbose))
        curl.setopt(pycurl.NOSIGNAL, not use_signal)
        curl.setopt(pycurl.SSL_VERIFYHOST, 2 if verify_hostname else 0)
        if cafile or capath or use_curl_cabundle:
            curl.setopt(pycurl.SSL_VERIFYPEER, True)
            if cafile:
                curl.setopt(pycurl.CAINFO, str(cafile))
            if capath:
                curl.setopt(pycurl.CAPATH, str(capath))
        else:
            curl.setopt(pycurl.SSL_VERIFYPEER, False)
        if proxy is not None:
            curl.setopt(pycurl.PROXY, str(proxy))
        if connect_timeout is not None:
            curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(connect_timeout * 1000))
        if timeout is not None:
            curl.setopt(pycurl.TIMEOUT_MS, int(timeout * 1000))

    return _config


# query and body helpers ------------------------------------------------------------------

def _append_if(query: QueryArgs, condition: Any, item: tuple[str, Any]) -> None:
    """Add a query argument only when wanted: the server treats presence as a value."""
    if condition:
        query.append(item)


def _append_dry_run(query: QueryArgs, dry_run: bool) -> None:
    _append_if(query, dry_run, ("dry-run", 1))


def _append_reason(query: QueryArgs, reason: str | None) -> None:
    """The server turns ``reason=`` into a ``gnt:user`` reason-trail entry."""
    _append_if(query, reason, ("reason", reason))


def _reason_query(reason: str | None) -> QueryArgs:
    query: QueryArgs = []
    _append_reason(query, reason)
    return query


def _bulk_query(bulk: bool, reason: str | None = None) -> QueryArgs:
    query: QueryArgs = []
    _append_if(query, bulk, ("bulk", 1))
    _append_reason(query, reason)
    return query


def _tag_query(tags: Iterable[str], dry_run: bool, reason: str | None) -> QueryArgs:
    """Tags travel as repeated ``tag=`` query arguments, never in the body."""
    if isinstance(tags, str):
        tags = [tags]
    query: QueryArgs = [("tag", t) for t in tags]
    _append_dry_run(query, dry_run)
    _append_reason(query, reason)
    return query


def _encode_query(query: QueryArgs) -> list[tuple[str, str]]:
    """Booleans become ``1``/``0`` (RAPI's boolean arguments are integers)."""
    out = []
    for name, value in query:
        if value is None:
            continue
        if isinstance(value, bool):
            value = int(value)
        out.append((name, str(value)))
    return out


def _not_none(**kwargs: Any) -> dict:
    """Body fields the caller set; unset ones are left to the opcode defaults."""
    return {k: v for k, v in kwargs.items() if v is not None}


def _comma_list(value: str | Sequence[str]) -> str:
    return value if isinstance(value, str) else ",".join(str(v) for v in value)


def _q(name: Any) -> str:
    """One path segment: names and ids are quoted so "/" or "?" cannot reroute."""
    return urllib.parse.quote(str(name), safe="")


def _format_error(code: int, raw: bytes) -> str:
    """``"404 Not Found: Nothing matches"`` from the server's error body."""
    text = raw.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    if isinstance(data, dict) and "message" in data:
        msg = "%s %s" % (data.get("code", code), data["message"])
        if data.get("explain"):
            msg += ": %s" % data["explain"]
        return msg
    return "%d %s" % (code, text or "(no body)")


class RapiTransport:
    """HTTPS to one RAPI daemon; :class:`GanetiRapiClient` adds the resources.

    One libcurl handle per thread: a handle keeps its connection open for
    the next request (keep-alive), and handles must not be shared between
    threads, so a client object can still be used from several threads.
    """

    USER_AGENT = "Ganeti RAPI Client"

    def __init__(self, host: str, port: int = GANETI_RAPI_PORT, username: str | None = None,
                 password: str | None = None, logger: Any = logging,
                 curl_config_fn: Callable[[pycurl.Curl], None] | None = None,
                 curl_factory: Callable[[], pycurl.Curl] | None = None):
        """Remember where and how to connect; nothing is sent yet.

        ``curl_config_fn`` is called with each request's handle after the
        client's own options (use :func:`GenericCurlConfig`); without it the
        server certificate is not verified, as in upstream's client.
        ``curl_factory`` makes the handles (default ``pycurl.Curl``).
        """
        self._username = username
        self._password = password
        self._logger = logger
        self._curl_config_fn = curl_config_fn
        self._curl_factory = curl_factory or pycurl.Curl
        self._local = threading.local()
        # an IPv6 literal needs brackets in a URL
        netloc = "[%s]" % host if ":" in host and not host.startswith("[") else host
        self._base_url = "https://%s:%s" % (netloc, port)
        if username is not None and password is None:
            raise Error("Password not specified")
        if password is not None and username is None:
            raise Error("Specified password without username")

    def _CreateCurl(self) -> pycurl.Curl:
        """This thread's handle, created on first use and then kept (keep-alive)."""
        curl = getattr(self._local, "curl", None)
        if curl is None:
            curl = self._curl_factory()
            self._local.curl = curl
        else:
            curl.reset()  # drops options, keeps the open connection
        curl.setopt(pycurl.VERBOSE, False)
        curl.setopt(pycurl.FOLLOWLOCATION, False)
        curl.setopt(pycurl.NOSIGNAL, True)
        curl.setopt(pycurl.USERAGENT, self.USER_AGENT)
        curl.setopt(pycurl.SSL_VERIFYHOST, 0)
        curl.setopt(pycurl.SSL_VERIFYPEER, False)
        curl.setopt(pycurl.HTTPHEADER, ["Accept: %s" % HTTP_APP_JSON,
                                        "Content-type: %s" % HTTP_APP_JSON])
        if self._username is not None:
            curl.setopt(pycurl.HTTPAUTH, pycurl.HTTPAUTH_BASIC)
            curl.setopt(pycurl.USERNAME, self._username)
            curl.setopt(pycurl.PASSWORD, self._password or "")
        if self._curl_config_fn:
            self._curl_config_fn(curl)
        return curl

    def close(self) -> None:
        """Close this thread's connection now instead of when the client is collected."""
        curl = getattr(self._local, "curl", None)
        if curl is not None:
            curl.close()
            self._local.curl = None

    def _SendRequest(self, method: str, path: str, query: QueryArgs | None,
                     content: Any) -> Any:
        """Send one request and return the decoded JSON answer.

        ``content`` is JSON-encoded when not None (GET may carry a body:
        ``/2/jobs/ID/wait`` does).  Non-200 answers raise
        :class:`GanetiApiError` with the HTTP status as ``code``; TLS
        problems raise :class:`CertificateError`.
        """
        url = self._base_url + path
        if query:
            url += "?" + urllib.parse.urlencode(_encode_query(query))
        body = b"" if content is None else json.dumps(content, sort_keys=True).encode()
        self._logger.debug("Sending request %s %s (content=%r)", method, url, body)

        curl = self._CreateCurl()
        buf = io.BytesIO()
        curl.setopt(pycurl.CUSTOMREQUEST, str(method))
        curl.setopt(pycurl.URL, url)
        # a body even when empty, so every request says Content-Length
        curl.setopt(pycurl.POSTFIELDS, body)
        curl.setopt(pycurl.WRITEFUNCTION, buf.write)
        try:
            curl.perform()
        except pycurl.error as err:
            errno = err.args[0] if err.args else None
            detail = err.args[1] if len(err.args) > 1 else str(err)
            self.close()  # the connection's state is unknown now
            if errno in _CURL_SSL_ERRORS:
                raise CertificateError("SSL certificate error (%s, %r)" % (errno, detail),
                                       code=errno)
            raise GanetiApiError("Request %s %s failed (%s): %s" % (method, url, errno, detail),
                                 code=errno)
        http_code = curl.getinfo(pycurl.RESPONSE_CODE)
        raw = buf.getvalue()
        if http_code != HTTP_OK:
            raise GanetiApiError(_format_error(http_code, raw), code=http_code)
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError as err:
            raise GanetiApiError("Invalid JSON in the answer to %s %s: %s"
                                 % (method, path, err), code=http_code)
