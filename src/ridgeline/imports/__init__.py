"""Import of inventory exports into the resource envelope, for rules to judge without a live scan."""

from ridgeline.imports.aws_config import ImportIssue, ImportReport, iter_aws_config_items

__all__ = ["ImportIssue", "ImportReport", "iter_aws_config_items"]
