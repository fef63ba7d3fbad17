"""The least-privilege IAM policy of a scan, derived from the calls collectors declare."""

from __future__ import annotations

from typing import Any

from ridgeline.providers.aws.scanner import declared_calls

# sts:GetCallerIdentity needs no permission: AWS always allows it.
_IMPLICIT = {"sts:GetCallerIdentity"}


def scan_policy() -> dict[str, Any]:
    """Return an IAM policy document allowing every declared call, and nothing else."""
    actions = sorted({call.action for call in declared_calls()} - _IMPLICIT)
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "RidgelineReadOnlyScan",
            "Effect": "Allow",
            "Action": actions,
            "Resource": "*",
        }],
    }
