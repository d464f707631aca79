"""Networks and filter rules: resources this cluster doesn't implement yet.

They are in the table so that clients get a clear 501 (and OpenAPI lists
them) rather than a 404 that looks like a typo in the URL.
"""

from __future__ import annotations

from typing import Callable

from ganeti.rapi.base import Context, Method, RapiError, Resource


def _unsupported(what: str) -> Callable[[Context], None]:
    message = "%s are not supported by this cluster yet" % what

    def handler(ctx: Context) -> None:
        """Always 501: there is nothing behind this resource yet."""
        raise RapiError(501, message)

    return handler


_NET = _unsupported("Networks")
_FILTER = _unsupported("Filters")


def _methods(handler: Callable[[Context], None], what: str, verbs: dict[str, str]) -> dict:
    return {verb: Method(handler, "%s (not supported yet: 501)" % summary,
                         query_args=("bulk",) if verb == "GET" and what == "list" else ())
            for verb, summary in verbs.items()}


def _net(suffix: str) -> str:
    return "/2/networks/{network_name}" + suffix


RESOURCES = [
    Resource("/2/networks", "networks",
             _methods(_NET, "list", {"GET": "List networks", "POST": "Add a network"})),
    Resource(_net(""), "networks_name",
             _methods(_NET, "item", {"GET": "Network details", "DELETE": "Remove a network"})),
    Resource(_net("/modify"), "networks_name_modify",
             _methods(_NET, "item", {"PUT": "Change network parameters"})),
    Resource(_net("/connect"), "networks_name_connect",
             _methods(_NET, "item", {"PUT": "Connect a network to a group"})),
    Resource(_net("/disconnect"), "networks_name_disconnect",
             _methods(_NET, "item", {"PUT": "Disconnect a network from a group"})),
    Resource(_net("/rename"), "networks_name_rename",
             _methods(_NET, "item", {"PUT": "Rename a network"})),
    Resource(_net("/tags"), "networks_name_tags",
             _methods(_NET, "item", {"GET": "Network tags", "PUT": "Add network tags",
                                     "DELETE": "Remove network tags"})),
    Resource("/2/filters", "filters",
             _methods(_FILTER, "list", {"GET": "List filter rules", "POST": "Add a filter rule"})),
    Resource("/2/filters/{filter_uuid}", "filters_uuid",
             _methods(_FILTER, "item", {"GET": "Filter rule details",
                                        "PUT": "Replace or create a filter rule",
                                        "DELETE": "Remove a filter rule"})),
]
