"""Storage URLs as automl may write or print them: the one place that hides their passwords
(a model's ``config.json``, error messages, the dashboard, workers).

Users paste raw passwords, so a password may hold ``/``, ``?``, ``#``, ``:`` or ``@``, which a
URL parser takes for delimiters (SQLAlchemy's ``make_url`` shows the tail of a password with a
raw ``@`` as the host). So the user information is read broadly: everything between ``://``
and the last ``@`` of the URL (unless a ``/`` follows ``://`` at once, as in ``sqlite:///``),
its password everything after its first ``:``. A URL with an ``@`` after its host (in the
database name or the query) thus shows more hidden than needed, never less. A ``password=``
(``passwd``, ``pwd``, ``secret``, ``token``) query parameter is hidden up to the next
``&name=`` or the end.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from automl.errors import StorageError

HIDDEN = "***"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_SECRET_PARAM = re.compile(
    r"(?P<head>[?&](?:password|passwd|pwd|secret|token)=)(?P<value>.*?)(?=&[\w.%-]+=|\Z)",
    re.I | re.S,
)


def _password_span(url: str) -> tuple[int, int] | None:
    """Where the password of ``url``'s user information lies (start, end), or None."""
    scheme = _SCHEME.match(url)
    if scheme is None or url[scheme.end() :].startswith("/"):
        return None
    at = url.rfind("@", scheme.end())
    colon = url.find(":", scheme.end(), at) if at >= 0 else -1
    return (colon + 1, at) if colon >= 0 else None


def redact(url: Any) -> Any:
    """``url`` with every password replaced by ``***`` (see the module docstring); a path (an
    SQLite file, a journal ``.log``) or a URL without one comes back as it is, and anything
    that is not a string is returned as it is."""
    if not isinstance(url, str):
        return url
    span = _password_span(url)
    if span is not None:
        url = url[: span[0]] + HIDDEN + url[span[1] :]
    return _SECRET_PARAM.sub(lambda m: m.group("head") + HIDDEN, url)


def secret_forms(url: str) -> list[str]:
    """The passwords ``url`` holds, each as written, decoded and percent-encoded (longest
    first): what must not appear in any text shown with it."""
    span = _password_span(url)
    found = [url[span[0] : span[1]]] if span is not None else []
    found += [m.group("value") for m in _SECRET_PARAM.finditer(url)]
    forms: set[str] = set()
    for secret in filter(None, found):
        for plain in {secret, unquote(secret), unquote_plus(secret)}:
            forms |= {plain, quote(plain, safe=""), quote(plain), quote_plus(plain)}
    return sorted(forms, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """``text`` (a driver's error message, say) with ``url`` redacted and its passwords, in any
    of their forms, replaced by ``***``."""
    text = text.replace(url, redact(url))
    for secret in secret_forms(url):
        text = text.replace(secret, HIDDEN)
    return text


def check_unambiguous(url: str) -> None:
    """Refuse an RDB URL whose password SQLAlchemy would read otherwise than ``redact`` does
    (a raw ``@`` in the password would send its tail to the network as a host name)."""
    from sqlalchemy.engine import make_url

    span = _password_span(url)
    ours = unquote(url[span[0] : span[1]]) if span is not None else None
    try:
        theirs = make_url(url).password
    except Exception:  # noqa: BLE001 - an unparsable URL is refused, scrubbed, when opened
        return
    if theirs != ours:
        raise StorageError(
            f"storage {redact(url)!r} is ambiguous: a raw '@' in its password or after its "
            "host, or a '/' in its user name, would be misread; percent-encode them (%40, %2F)"
        )
