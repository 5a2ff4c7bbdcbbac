"""Secrets in locations: a password in a database URL is used to connect and never written anywhere.

A location (`source.location`, `publish.url`, `--data`) may name environment variables as `${NAME}`:
`postgresql+psycopg://churn:${CHURN_DB_PASSWORD}@db.example.com/crm`. The reference is what configs,
Prefect's flow parameters, DVC's lock file and MLflow see; the value is read from the environment only
when a connection is opened. Whatever is written or shown goes through `shown_location`, which shows a URL's
password (or the reference to it) as `***`.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MASK = "***"
# Query parameters that carry a secret (libpq and most drivers accept `?password=`).
SECRET_QUERY_KEYS = ("password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "access_key")
# The environment variable the CLI moves a password typed into `--data` to, so that Prefect stores the
# flow's parameters with a reference instead of the password.
DATA_PASSWORD_ENV = "CHURN_DATA_PASSWORD"


class SecretNotSet(LookupError):
    """A location names an environment variable that is not set."""


def _is_url(location: str) -> bool:
    return "://" in location


def resolve_location(location: str, what: str = "the location") -> str:
    """`location` with each `${NAME}` replaced by the environment variable's value: as it is when the
    reference is the whole location, URL-encoded inside a URL (so a password holding `@` or `/` works)."""
    whole = REFERENCE.fullmatch(location.strip())
    if whole:
        return _variable(whole[1], what)
    encode = _is_url(location)
    return REFERENCE.sub(lambda m: quote(_variable(m[1], what), safe="") if encode else _variable(m[1], what),
                         location)


def _variable(name: str, what: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise SecretNotSet(f"{what} refers to ${{{name}}}, which is not set in the environment: "
                           f"export {name}=... before the run (or set it in the scheduler's environment)")
    return value


def shown_location(location: str | None) -> str | None:
    """The location as it may be written or shown: a password in a URL (user:password@ or ?password=), or a
    `${NAME}` reference to one, as `***`. Folders are returned as they are."""
    if not location or not _is_url(location):
        return location
    import sqlalchemy as sa

    try:
        url = sa.engine.make_url(location)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy parses: mask by pattern
        return _mask_by_pattern(location)
    secret_keys = {k for k in url.query if k.lower() in SECRET_QUERY_KEYS}
    if secret_keys:
        url = url.update_query_dict({k: _PLACEHOLDER for k in secret_keys})
    return _render(url, MASK)


# Stands in for a password while SQLAlchemy renders a URL (it would URL-encode `***` and a reference's `${}`).
_PLACEHOLDER = "churnsecretplaceholder"


def _render(url, password_text: str) -> str:
    """The URL as text with `password_text` as its password and masked query values, written as they are."""
    if url.password is not None:
        url = url.set(password=_PLACEHOLDER)
    text = url.render_as_string(hide_password=False)
    return text.replace(f":{_PLACEHOLDER}@", f":{password_text}@", 1).replace(_PLACEHOLDER, MASK)


def _mask_by_pattern(location: str) -> str:
    masked = re.sub(r"(://[^/@:]*:)[^@/]*@", rf"\g<1>{MASK}@", location)
    return re.sub(rf"(?i)([?&](?:{'|'.join(SECRET_QUERY_KEYS)})=)[^&]*", rf"\g<1>{MASK}", masked)


def secrets_in(location: str | None) -> list[str]:
    """The secret values a location carries once resolved (its password, as typed and URL-decoded, and
    secret query values): what must never appear in an error message."""
    if not location or not _is_url(location):
        return []
    try:
        resolved = resolve_location(location)
    except SecretNotSet:
        resolved = location
    import sqlalchemy as sa

    try:
        url = sa.engine.make_url(resolved)
    except Exception:  # noqa: BLE001
        found = re.search(r"://[^/@:]*:([^@/]*)@", resolved)
        return [found[1]] if found and found[1] else []
    values = [str(url.password)] if url.password else []
    values += [str(v) for k, v in url.query.items() if k.lower() in SECRET_QUERY_KEYS and v]
    values = [v for v in values if not REFERENCE.fullmatch(v)]  # an unset reference is no secret
    return sorted({s for v in values for s in (v, quote(v, safe=""))} - {""}, key=len, reverse=True)


# Shorter secrets are not scrubbed from messages: replacing every "pw" would garble them (and such a
# password protects nothing).
MIN_SCRUBBED = 4


def scrub(text: str, *locations: str | None) -> str:
    """`text` (an error message) with the secrets of `locations` replaced by `***`."""
    for location in locations:
        for secret in secrets_in(location):
            if len(secret) >= MIN_SCRUBBED:
                text = text.replace(secret, MASK)
    return text


def move_password_to_environment(location: str | None, variable: str = DATA_PASSWORD_ENV) -> str | None:
    """A URL typed with its password becomes one that refers to `${variable}`, the password moved to this
    process's environment: the flow resolves it when it connects, and Prefect stores only the reference."""
    if not location or not _is_url(location):
        return location
    import sqlalchemy as sa

    try:
        url = sa.engine.make_url(location)
    except Exception:  # noqa: BLE001 - left for the pull to report
        return location
    if url.password is None or REFERENCE.fullmatch(str(url.password)):
        return location
    os.environ[variable] = str(url.password)
    return _render(url, f"${{{variable}}}")
