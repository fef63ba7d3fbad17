"""Demo account contacts: a billing alternate contact, and no security contact."""

from __future__ import annotations

from ridgeline.demo.emulator import emulator_client


def seed(endpoint: str) -> int:
    """Register the billing contact only; return how many contacts."""
    emulator_client(endpoint, "account").put_alternate_contact(
        AlternateContactType="BILLING", EmailAddress="billing@example.com", Name="Demo billing",
        PhoneNumber="+1-555-0100", Title="Accounts payable")
    return 1
