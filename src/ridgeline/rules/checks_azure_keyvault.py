"""Azure Key Vault analysis functions that rule conditions can call (`check: azure.NAME`).

A certificate's validity period needs arithmetic on two values (`exp - nbf`) and a choice between two
sources, which the rule language cannot express. The certificate comes in the two shapes the envelope
keeps as given: the Key Vault REST shape (`attributes.nbf`/`exp` in seconds since 1970, the policy's
`x509_props.validity_months`) and the Azure CLI shape (`attributes.notBefore`/`expires` as ISO 8601 times,
the policy's `x509CertificateProperties.validityInMonths`). A value that is missing or malformed makes the
outcome unknown (ERROR), never a silent pass or fail.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from ridgeline.rules.functions import Outcome, check_function

SECONDS_PER_DAY = 86_400

# The (section, field) of each shape that contains the validity of the certificates a policy issues.
_POLICY_VALIDITY = (("x509_props", "validity_months"), ("x509CertificateProperties", "validityInMonths"))
# The (start, end) fields of each shape that bound the current version's validity.
_ATTRIBUTE_SPAN = (("nbf", "exp"), ("notBefore", "expires"))


@check_function("azure.certificate_validity_exceeds", path_args=("policy", "attributes"),
                literal_args=("max_months", "max_days"), required=("policy", "attributes"))
def certificate_validity_exceeds(policy: Any, attributes: Any, max_months: int = 12, max_days: int = 366) -> Outcome:
    """True when a Key Vault certificate is valid for longer than `max_months` (its policy's validity), or,
    when no policy gives one, when its current version spans more than `max_days` days (`exp - nbf`).
    """
    months, problem = policy_validity_months(policy)
    if problem:
        return Outcome(None, problem)
    if months is not None:
        return Outcome(months > max_months,
                       f"the certificate policy issues certificates valid for {months} month(s); at most "
                       f"{max_months} are allowed")

    span, problem = attribute_span_seconds(attributes)
    if span is None:
        return Outcome(None, problem)
    # Whole days, rounded up: a span a few seconds over the bound then reads as one day too many, so the
    # number shown agrees with the verdict.
    days = math.ceil(span / SECONDS_PER_DAY)
    source = ("the collected data holds no certificate policy (a list-only export has none)" if policy is None
              else "the certificate policy sets no validity")
    return Outcome(span > max_days * SECONDS_PER_DAY,
                   f"{source}, so the validity comes from the current version's notBefore and expiry: "
                   f"{days} day(s); at most {max_days} are allowed")


def policy_validity_months(policy: Any) -> tuple[int | None, str]:
    """Return (the policy's validity in months or None when it gives none, the reason it is malformed or "")."""
    if policy is None:
        return None, ""
    if not isinstance(policy, dict):
        return None, f"expected the certificate policy as an object, found {type(policy).__name__}"
    for section_name, field in _POLICY_VALIDITY:
        section = policy.get(section_name)
        if not isinstance(section, dict) or section.get(field) is None:
            continue
        months = section[field]
        # JSON true is a Python int; a validity is a whole number of months, at least one.
        if isinstance(months, bool) or not isinstance(months, int) or months < 1:
            return None, f"the certificate policy's {section_name}.{field} is not a number of months: {months!r}"
        return months, ""
    return None, ""


def attribute_span_seconds(attributes: Any) -> tuple[float | None, str]:
    """Return (seconds from the start to the end of the current version's validity, or None, and why not)."""
    if not isinstance(attributes, dict):
        return None, ("the certificate's attributes (notBefore and expiry) were not collected" if attributes is None
                      else f"expected the certificate's attributes as an object, found {type(attributes).__name__}")
    for start_field, end_field in _ATTRIBUTE_SPAN:
        if attributes.get(start_field) is None and attributes.get(end_field) is None:
            continue
        start, end = _instant(attributes.get(start_field)), _instant(attributes.get(end_field))
        if start is None or end is None:
            return None, (f"the certificate's attributes need both {start_field} and {end_field} as times, found "
                          f"{attributes.get(start_field)!r} and {attributes.get(end_field)!r}")
        if end < start:
            return None, f"the certificate's {end_field} comes before its {start_field}"
        return end - start, ""
    return None, "the certificate's attributes have neither nbf/exp nor notBefore/expires"


def _instant(value: Any) -> float | None:
    """Return a time as seconds since 1970: a number (REST) or an ISO 8601 text with an offset (Azure CLI)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        # A time without an offset cannot be placed, and Azure writes every certificate time with one.
        return parsed.timestamp() if parsed.tzinfo is not None else None
    return None
