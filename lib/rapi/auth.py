"""RAPI users and HTTP Basic authentication (spec/rapi.md §2).

The users file (``pathutils.RAPI_USERS_FILE``) holds one user per line::

    NAME PASSWORD [OPTION[,OPTION...]]

``PASSWORD`` is cleartext, ``{cleartext}PW`` or ``{ha1}HEX`` where HEX is
``md5("NAME:Ganeti Remote API:PW")``; the scheme prefix is
case-insensitive. Options are ``read`` and ``write``.

Administrators edit the file by hand and expect the daemon to notice
without a restart, so :class:`UsersFile` checks the file's identity
(inode, size, mtime) on every request, which costs one ``stat``; SIGHUP
forces a re-read for editors that keep all three unchanged. A file that
cannot be read or parsed keeps the last good user list, because locking
everybody out on a typo is worse than serving the previous users a bit
longer (the error is logged).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import threading
from dataclasses import dataclass

from ganeti.rapi.base import RapiError

REALM = "Ganeti Remote API"
WWW_AUTHENTICATE = 'Basic realm="%s"' % REALM
KNOWN_OPTIONS = frozenset(("read", "write"))

_SCHEME_RE = re.compile(r"^\{([A-Za-z0-9]+)\}(.*)$", re.S)


@dataclass(frozen=True)
class User:
    """One line of the users file."""

    name: str
    password: str          # as written in the file, scheme prefix included
    options: frozenset[str]


def parse_users(text: str, source: str = "users file") -> dict[str, User]:
    """Parse the users file; malformed lines are logged and skipped.

    Skipping (instead of failing) keeps one bad line from disabling every
    other account.
    """
    users: dict[str, User] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 2 or len(fields) > 3:
            logging.warning("%s line %d: expected 'USER PASSWORD [OPTIONS]', ignoring it",
                            source, lineno)
            continue
        options: frozenset[str] = frozenset()
        if len(fields) == 3:
            options = frozenset(o.strip().lower() for o in fields[2].split(",") if o.strip())
            unknown = options - KNOWN_OPTIONS
            if unknown:
                logging.warning("%s line %d: unknown option(s) %s for user %s", source,
                                lineno, ", ".join(sorted(unknown)), fields[0])
        if fields[0] in users:
            logging.warning("%s line %d: user %s defined again, the last line wins", source,
                            lineno, fields[0])
        users[fields[0]] = User(fields[0], fields[1], options)
    return users


def ha1(username: str, password: str) -> str:
    """The ``{ha1}`` form of a password (what an administrator writes)."""
    return hashlib.md5(("%s:%s:%s" % (username, REALM, password)).encode("utf-8")).hexdigest()


def check_password(user: User, password: str) -> bool:
    """True if ``password`` is the user's; compares in constant time.

    The comparison is always made on digests of equal length, so neither the
    length nor a common prefix of the stored password leaks through timing.
    """
    stored = user.password
    match = _SCHEME_RE.match(stored)
    if match:
        scheme, value = match.group(1).lower(), match.group(2)
        if scheme == "cleartext":
            expected = value
        elif scheme == "ha1":
            return hmac.compare_digest(ha1(user.name, password).encode("ascii"),
                                       value.strip().lower().encode("utf-8", "replace"))
        else:
            logging.warning("User %s has a password with unknown scheme {%s}; refusing it",
                            user.name, match.group(1))
            return False
    else:
        expected = stored
    return hmac.compare_digest(hashlib.sha256(password.encode("utf-8", "replace")).digest(),
                               hashlib.sha256(expected.encode("utf-8", "replace")).digest())


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """``(user, password)`` of a Basic ``Authorization`` header, None if absent or not Basic."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return user, password


class UsersFile:
    """The users file, re-read whenever it changes (thread-safe)."""

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int, int] | None = None
        self._users: dict[str, User] = {}
        self._loaded = False

    def _stat(self) -> tuple[int, int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def reload(self, force: bool = True) -> None:
        """Re-read the file (``force``) or only if its identity changed."""
        try:
            stamp = self._stat()
        except OSError as err:
            logging.error("Can't stat RAPI users file %s: %s", self.path, err)
            return
        with self._lock:
            if not force and self._loaded and stamp == self._stamp:
                return
            if stamp is None:
                if self._users or not self._loaded:
                    logging.warning("RAPI users file %s does not exist; no users", self.path)
                self._users, self._stamp, self._loaded = {}, None, True
                return
            try:
                with open(self.path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
            except OSError as err:
                logging.error("Can't read RAPI users file %s, keeping %d known users: %s",
                              self.path, len(self._users), err)
                return
            self._users = parse_users(text, self.path)
            self._stamp, self._loaded = stamp, True
            logging.info("Loaded %d RAPI user(s) from %s", len(self._users), self.path)

    def users(self) -> dict[str, User]:
        self.reload(force=False)
        return self._users

    def get(self, name: str) -> User | None:
        return self.users().get(name)


class Authenticator:
    """Applies the access rule of spec/rapi.md §2 to one request."""

    def __init__(self, users: UsersFile, require_auth: bool = False):
        self.users = users
        self.require_auth = require_auth

    def _valid_user(self, header: str | None) -> User | None:
        creds = parse_basic(header)
        if creds is None:
            return None
        user = self.users.get(creds[0])
        if user is None:
            # same work as for a known user, so timing does not reveal user names
            check_password(User(creds[0], "{cleartext}\0", frozenset()), creds[1])
            return None
        return user if check_password(user, creds[1]) else None

    def authorize(self, header: str | None, access: tuple[str, ...]) -> str | None:
        """The authenticated user name (None: anonymous); raises 401/403.

        Without ``--require-authentication`` a method with an empty access
        list is open to anyone; credentials sent anyway are checked only to
        name the user in the log, and wrong ones do not matter (upstream
        ignores them too).
        """
        if not access and not self.require_auth:
            user = self._valid_user(header) if header else None
            return user.name if user else None
        user = self._valid_user(header)
        if user is None:
            raise RapiError(401)
        if access and not user.options.intersection(access):
            raise RapiError(403)
        return user.name
