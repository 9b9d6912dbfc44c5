"""What ``automl serve`` checks before it answers: its options when it starts (a ParameterError
naming the option, which the CLI prints as one line with exit status 2), the optional bearer
token, and each POST's Content-Type and JSON nesting.

The token guards what reads or changes the model: ``/predict``, ``/feedback`` and ``/metadata``.
``/health`` and ``/metrics`` stay open for probes and Prometheus scrapers, which usually carry no
token; they show counts, drift and the names of features and classes, never rows or labels.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import numbers
import os
from collections.abc import Mapping
from typing import Any

from automl.errors import ParameterError

TOKEN_ENV = "AUTOML_SERVE_TOKEN"
MIN_TOKEN_CHARS = 16
MAX_WINDOW = 1_000_000  # rows; the window keeps one int64 per monitored statistic per row
MAX_THREADS = 1024
MIN_BODY_BYTES = 2**10  # below this no request fits
MAX_BODY_LIMIT = 2**30  # a body is held in memory while it is parsed
MAX_JSON_DEPTH = 32  # the deepest request the endpoints read is 3 levels deep
GUARDED = ("/predict", "/feedback", "/metadata")
MAKE_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def _whole(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_port(port: Any) -> int:
    """The port to bind, 1-65535 (0 would bind a random port no client knows of)."""
    if not _whole(port) or not 1 <= port <= 65535:
        raise ParameterError(f"--port takes a port number from 1 to 65535; got {port!r}")
    return port


def check_options(window: Any, max_body_bytes: Any, threads: Any) -> None:
    """ParameterError for a drift window, body limit or thread count the server cannot use."""
    if not _whole(window) or not 1 <= window <= MAX_WINDOW:
        raise ParameterError(
            f"--window (window=) takes a whole number of rows from 1 to {MAX_WINDOW}; "
            f"got {window!r}"
        )
    if not _whole(max_body_bytes) or not MIN_BODY_BYTES <= max_body_bytes <= MAX_BODY_LIMIT:
        raise ParameterError(
            f"max_body_bytes takes from {MIN_BODY_BYTES} to {MAX_BODY_LIMIT} bytes "
            f"(--max-body-mb 0.001 to 1024); got {max_body_bytes!r}"
        )
    if threads is not None and (not _whole(threads) or not 1 <= threads <= MAX_THREADS):
        raise ParameterError(
            f"--threads (threads=) takes a whole number from 1 to {MAX_THREADS}, or 0 (None) "
            f"for the libraries' own defaults; got {threads!r}"
        )


def body_limit_bytes(megabytes: float) -> int:
    """``--max-body-mb`` in bytes; ParameterError unless it is a size from 0.001 to 1024 MB."""
    finite = isinstance(megabytes, (int, float)) and math.isfinite(megabytes)
    size = int(megabytes * 2**20) if finite else 0
    if not MIN_BODY_BYTES <= size <= MAX_BODY_LIMIT:
        raise ParameterError(
            f"--max-body-mb takes a size in MB from 0.001 to 1024; got {megabytes}"
        )
    return size


def resolve_token(flag: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The bearer token: ``--token`` if given, else ``$AUTOML_SERVE_TOKEN``, else None (no
    token). ParameterError for a token that is empty, short or not header-safe; the message
    never repeats the token."""
    if flag is not None:
        return check_token(flag, "--token")
    if TOKEN_ENV not in environ:
        return None
    if not environ[TOKEN_ENV]:
        raise ParameterError(
            f"{TOKEN_ENV} is set but empty: unset it to serve without a token, or set it to a "
            f"token of at least {MIN_TOKEN_CHARS} characters ({MAKE_TOKEN})"
        )
    return check_token(environ[TOKEN_ENV], TOKEN_ENV)


def check_token(token: str, source: str) -> str:
    """``token`` if an Authorization header can carry it and it is long enough to guess hard."""
    if not all("!" <= c <= "~" for c in token):
        raise ParameterError(
            f"the token of {source} holds spaces or characters other than printable ASCII, "
            f"which an Authorization header cannot carry; make one with {MAKE_TOKEN}"
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise ParameterError(
            f"the token of {source} is {len(token)} characters; use at least {MIN_TOKEN_CHARS} "
            f"({MAKE_TOKEN})"
        )
    return token


def authorized(header: str | None, token: str) -> bool:
    """Whether an Authorization header is ``Bearer <token>``; compared in constant time (both
    sides hashed first, so that not even the length is timed)."""
    scheme, _, given = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        given = ""
    digest = hashlib.sha256(given.strip().encode("utf-8", "surrogateescape")).digest()
    return hmac.compare_digest(digest, hashlib.sha256(token.encode()).digest())


def refused_before_body(
    headers: Mapping[str, str], token: str | None, has_body: bool
) -> tuple[int, str, dict[str, str]] | None:
    """(status, message, headers) of the 401 or 415 a request gets before its body is read,
    or None: the token is checked first, then that the body is JSON."""
    if token is not None and not authorized(headers.get("authorization"), token):
        message = (
            f'this server needs "Authorization: Bearer <token>" on {", ".join(GUARDED)} '
            "(the token it was started with)"
        )
        return 401, message, {"WWW-Authenticate": "Bearer"}
    content_type = headers.get("content-type")
    if has_body and not is_json(content_type):
        got = (content_type or "none")[:80]
        return (
            415,
            f'send the body as JSON with "Content-Type: application/json" (got {got!r})',
            {},
        )
    return None


def access_line(token: str | None) -> str:
    """What the start-up banner says of access (never the token itself)."""
    if token is None:
        return "no token: whoever reaches the port may predict and send feedback"
    return f"a bearer token is needed on {', '.join(GUARDED)}; /health and /metrics are open"


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type header is ``application/json`` (parameters such as charset aside):
    a browser sends that cross-site only after a CORS preflight, which this server never
    grants."""
    return (content_type or "").split(";")[0].strip().lower() == "application/json"


class TooDeep(ValueError):
    """A JSON body nested more than MAX_JSON_DEPTH levels."""


def parse_json(body: bytes) -> Any:
    """The JSON value of ``body``; TooDeep past MAX_JSON_DEPTH levels (the json module's own
    recursion ends near 1000), ValueError for what is not JSON."""
    try:
        value = json.loads(body)
    except RecursionError:
        value = None
        deep = True
    else:
        deep = _deeper_than(value, MAX_JSON_DEPTH)
    if deep:
        raise TooDeep(
            f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep; the requests this "
            "server reads are 3 levels deep (see GET /metadata and /docs)"
        )
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False
