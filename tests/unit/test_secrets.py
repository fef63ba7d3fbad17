"""Secret-like names: which variable names suggest a plaintext secret."""

from __future__ import annotations

import pytest

from ridgeline.analysis.secrets import secret_like_names


@pytest.mark.parametrize(("name", "secret"), [
    ("DB_PASSWORD", True),
    ("dbPassword", True),
    ("API_KEY", True),
    ("apiKey", True),
    ("STRIPE_SECRET", True),
    ("GITHUB_TOKEN", True),
    ("AWS_SECRET_ACCESS_KEY", True),
    ("CONNECTION_STRING", True),
    ("DB_PW", True),
    ("mysqlPw", True),
    ("PWM_FAN_SPEED", False),
    ("SPW_MODE", False),
    ("DB_PASSWORD_ARN", False),
    ("DB_SECRET_NAME", False),
    ("TOKEN_URL", False),
    ("PASSWORD_POLICY_PATH", False),
    ("LOG_LEVEL", False),
    ("TABLE_NAME", False),
    ("PASSPORT_ENABLED", False),
    ("KEYCLOAK_REALM", False),
])
def test_secret_like_names(name: str, secret: bool) -> None:
    assert (secret_like_names([name]) == [name]) is secret
