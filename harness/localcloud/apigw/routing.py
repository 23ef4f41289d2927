"""Route selection as HTTP APIs do it: the most specific path wins, then a method over ``ANY``.

Path templates may hold ``{name}`` (one segment) and a final ``{name+}`` (the rest, one segment
at least); ``$default`` catches what nothing else matches. Matching is on decoded segments; a
trailing slash is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from harness.localcloud.deployed import Route

DEFAULT_ROUTE = "$default"
_LITERAL, _PARAM, _GREEDY = 3, 2, 1


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: dict[str, str]


def segments(path: str) -> list[str]:
    return [unquote(part) for part in path.split("/") if part]


def _match_template(template: list[str], parts: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """Return (specificity per segment, parameters) if ``parts`` fit ``template``, else None."""
    score: list[int] = []
    params: dict[str, str] = {}
    for index, piece in enumerate(template):
        if piece.startswith("{") and piece.endswith("+}"):
            if index != len(template) - 1 or index >= len(parts):
                return None
            params[piece[1:-2]] = "/".join(parts[index:])
            score.append(_GREEDY)
            return tuple(score), params
        if index >= len(parts):
            return None
        if piece.startswith("{") and piece.endswith("}"):
            params[piece[1:-1]] = parts[index]
            score.append(_PARAM)
        elif piece == parts[index]:
            score.append(_LITERAL)
        else:
            return None
    if len(parts) != len(template):
        return None
    return tuple(score), params


def match_route(routes: Iterable[Route], method: str, path: str) -> RouteMatch | None:
    """The route for ``method path`` among ``routes`` (of one API), or None: a 404."""
    parts = segments(path)
    best: tuple[tuple[tuple[int, ...], int], RouteMatch] | None = None
    default: Route | None = None
    for route in routes:
        if route.route_key == DEFAULT_ROUTE:
            default = route
            continue
        route_method, _, template = route.route_key.partition(" ")
        if route_method not in (method.upper(), "ANY"):
            continue
        found = _match_template([p for p in template.split("/") if p], parts)
        if found is None:
            continue
        rank = (found[0], 0 if route_method == "ANY" else 1)
        if best is None or rank > best[0]:
            best = (rank, RouteMatch(route, found[1]))
    if best is not None:
        return best[1]
    return RouteMatch(default, {}) if default else None
