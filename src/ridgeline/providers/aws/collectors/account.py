"""Account: the alternate contacts (billing, operations, security) registered for the account.

Each registered contact becomes an `AWS::Account::AlternateContact` item, a pseudo type that AWS Config
does not record: `configuration` is the GetAlternateContact output in camelCase (`alternateContactType`,
`name`, `title`, `emailAddress`, `phoneNumber`). A contact type that is not registered yields no item.
"""

from __future__ import annotations

import logging

from ridgeline.providers.aws.calls import CallFailed, api_calls
from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.shape import config_shape
from ridgeline.providers.aws.unit import UnitContext

logger = logging.getLogger(__name__)

ALTERNATE_CONTACT = "AWS::Account::AlternateContact"

CALLS = api_calls("account", "GetAlternateContact")

CONTACT_TYPES = ("BILLING", "OPERATIONS", "SECURITY")

# GetAlternateContact returns ResourceNotFoundException for a contact type that was never registered.
_NOT_REGISTERED = ("ResourceNotFoundException",)


def collect(unit: UnitContext) -> None:
    """Collect the account's alternate contacts of every type."""
    account = unit.client("account")
    failed = False
    for contact_type in CONTACT_TYPES:
        try:
            # Without AccountId the call reads the caller's own account, which needs no organization.
            response = unit.call(account, "GetAlternateContact", missing=_NOT_REGISTERED,
                                 AlternateContactType=contact_type)
        except CallFailed as failure:
            # The contacts that were read are kept; rules that find no matching contact become ERROR
            # rather than FAIL, because the missing one may be behind this failure.
            if not failed:
                unit.fail_type(ALTERNATE_CONTACT, failure)
                failed = True
            continue
        if response is None:
            logger.debug("account %s: no %s alternate contact", unit.account, contact_type)
            continue

        contact = config_shape(response.get("AlternateContact") or {})
        # Alternate contacts have no ARN; this id is stable per account and contact type.
        contact_id = f"arn:{unit.partition}:account::{unit.account}:alternate-contact/{contact_type}"
        unit.add(unit.new_resource(ALTERNATE_CONTACT, contact_id, contact_type, configuration=contact))


COLLECTOR = CollectorSpec(
    service="account",
    global_service=True,
    calls=CALLS,
    resource_types=(ALTERNATE_CONTACT,),
    collect=collect,
    description="Alternate contacts of the account",
)
