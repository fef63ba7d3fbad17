"""Names that suggest a plaintext secret (environment variables, parameters, tags)."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Words that name a secret when they appear as a whole part of a variable name (DB_PASSWORD, apiKey).
_SECRET_WORDS = re.compile(
    r"(^|[_\-.])(pass(word|wd)?|pwd|pw|secret|token|api[_\-]?key|private[_\-]?key|access[_\-]?key|"
    r"credentials?|connection[_\-]?string|client[_\-]?secret)($|[_\-.])",
    re.IGNORECASE,
)
# Suffixes of names that hold a reference to a secret, not the secret itself (MY_SECRET_ARN).
_REFERENCE_SUFFIXES = re.compile(r"[_\-.](arn|id|name|path|param(eter)?|ref|file|url)$", re.IGNORECASE)
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def secret_like_names(names: Iterable[str]) -> list[str]:
    """Return the names that look like they hold a secret value (DB_PASSWORD yes, DB_PASSWORD_ARN no)."""
    found = []
    for name in names:
        # Split camelCase so that apiKey and dbPassword read as api_Key and db_Password.
        snake = _CAMEL_BOUNDARY.sub("_", name)
        if _SECRET_WORDS.search(snake) and not _REFERENCE_SUFFIXES.search(snake):
            found.append(name)
    return found
