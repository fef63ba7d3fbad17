"""Credentials of a GCP scan: Application Default Credentials, optional impersonation, and an early token check.

google.auth.default() looks, in order, at GOOGLE_APPLICATION_CREDENTIALS (a service account key, an
external account or workload identity federation configuration), the gcloud ADC file
(`gcloud auth application-default login`), and the metadata server of Compute Engine, GKE (workload
identity), Cloud Run and Cloud Functions. The token check runs before the scan, so a missing sign-in is
one clear line instead of a failure per request.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from google.auth import default as google_auth_default
from google.auth import exceptions as auth_exceptions
from google.auth import impersonated_credentials
from google.auth.credentials import Credentials
from google.auth.transport.requests import Request

from ridgeline.providers.gcp.errors import one_line

logger = logging.getLogger(__name__)

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

SIGN_IN_HINT = ("run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS to a service "
                "account key or workload identity federation file, or run where a service account is attached")

IMPERSONATION_LIFETIME_S = 3600
"""Lifetime of an impersonated token; google-auth requests a new one when it expires."""

# Service account emails end in gserviceaccount.com: PROJECT.iam., developer. (Compute Engine default)
# or appspot. (App Engine default).
_SERVICE_ACCOUNT = re.compile(r"^[A-Za-z0-9._%+-]{1,100}@[A-Za-z0-9.-]{1,200}\.gserviceaccount\.com$")


class CredentialSetupError(RuntimeError):
    """No usable credential; the message is one line with the reason and the next step."""


@dataclass(frozen=True, slots=True)
class GcpCredentials:
    """The credentials of a scan and the project that the ADC configuration names, if any."""

    credentials: Credentials
    project: str | None = None
    """The ADC project (gcloud config, GOOGLE_CLOUD_PROJECT or the key file's project), the default scope."""


def build_credentials(impersonate: str | None = None) -> GcpCredentials:
    """Return Application Default Credentials, impersonating `impersonate` when one is given.

    Raises CredentialSetupError when no ADC is configured or the service account email is invalid.
    """
    try:
        source, project = google_auth_default(scopes=[CLOUD_PLATFORM_SCOPE])
    except auth_exceptions.DefaultCredentialsError as error:
        logger.debug("google.auth.default() failed: %s", error)
        raise CredentialSetupError(f"no Application Default Credentials found ({_first_sentence(error)}); "
                                   f"{SIGN_IN_HINT}") from error
    if not impersonate:
        return GcpCredentials(source, project)

    if not _SERVICE_ACCOUNT.match(impersonate):
        raise CredentialSetupError(f"invalid --impersonate-service-account {impersonate!r}: expected a service "
                                   "account email such as scanner@my-project.iam.gserviceaccount.com")
    target = impersonated_credentials.Credentials(  # type: ignore[no-untyped-call]
        source_credentials=source, target_principal=impersonate, target_scopes=[CLOUD_PLATFORM_SCOPE],
        lifetime=IMPERSONATION_LIFETIME_S)
    return GcpCredentials(target, project)


def check_token(credentials: Credentials, *, impersonating: bool = False) -> None:
    """Request an access token unless the credentials hold a valid one; raise CredentialSetupError when that fails."""
    if credentials.valid:
        return
    try:
        credentials.refresh(Request())  # type: ignore[no-untyped-call]
    except auth_exceptions.RefreshError as error:
        logger.debug("token refresh failed: %s", error)
        hint = ("the signed-in identity needs roles/iam.serviceAccountTokenCreator on the impersonated service "
                "account" if impersonating else SIGN_IN_HINT)
        raise CredentialSetupError(f"cannot get a Google access token ({_first_sentence(error)}); {hint}") from error
    except auth_exceptions.TransportError as error:
        logger.debug("token request failed: %s", error)
        raise CredentialSetupError(f"cannot reach Google's token service ({_first_sentence(error)}); check the "
                                   "network and proxy settings") from error


def _first_sentence(error: Exception) -> str:
    # google-auth messages can span lines and quote whole token responses; the first sentence is the reason.
    return one_line(str(error)).split(". ")[0]
