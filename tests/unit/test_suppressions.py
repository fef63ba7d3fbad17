"""Suppressions: whole-value matching, expiry, which statuses are muted, validation and the printed report."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.model.resource import Resource
from ridgeline.suppress import Pattern, SuppressionErrors, apply_suppressions, load_suppressions
from ridgeline.suppress.model import Suppression, SuppressionReport
from ridgeline.suppress.terminal import print_suppression_report

KNOWN_RULES = ["aws-s3-bucket", "aws-s3-bucket-policy-public", "aws-s3-bucket-versioning", "aws-iam-root-mfa"]
"""Rule ids the files are validated against; "aws-s3-bucket" is a prefix of two others on purpose."""

BUCKET = "arn:aws:s3:::logs-prod"
TODAY = date(2025, 6, 15)


def _finding(**changes: Any) -> Finding:
    base = Finding(
        rule_id="aws-s3-bucket-policy-public", status=Status.FAIL, severity=Severity.HIGH,
        category="storage-exposure", provider="aws", account="111122223333", region="eu-west-1",
        resource_id=BUCKET, resource_type="AWS::S3::Bucket", resource_name="logs-prod",
        message="Bucket logs-prod is public.",
    )
    return replace(base, **changes)


def _resource(resource_id: str = BUCKET, tags: dict[str, str] | None = None) -> Resource:
    return Resource(provider="aws", account="111122223333", region="eu-west-1", type="AWS::S3::Bucket",
                    id=resource_id, name=resource_id.rsplit(":", 1)[-1], tags=tags or {})


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suppressions.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _load_entries(tmp_path: Path, *entries: dict[str, Any]) -> list[Suppression]:
    path = _write(tmp_path, yaml.safe_dump({"suppressions": list(entries)}, sort_keys=False))
    return load_suppressions(path, KNOWN_RULES)


def _errors(tmp_path: Path, text: str) -> list[tuple[int, str, str]]:
    """Return (line, field, message) of every error the file raises."""
    path = _write(tmp_path, text)
    with pytest.raises(SuppressionErrors) as raised:
        load_suppressions(path, KNOWN_RULES)
    for error in raised.value.errors:
        assert error.file == str(path)
    return [(error.line, error.field, error.reason) for error in raised.value.errors]


@pytest.mark.parametrize(("pattern", "value", "expected"), [
    ("aws-s3-bucket", "aws-s3-bucket", True),
    ("aws-s3-bucket", "aws-s3-bucket-policy-public", False),
    ("bucket", "aws-s3-bucket", False),
    ("aws-s3-*", "aws-s3-bucket-policy-public", True),
    ("aws-s3-*", "aws-iam-root-mfa", False),
    ("AWS-S3-*", "aws-s3-bucket", False),
    ("eu-*", "eu-west-1", True),
    ("eu-*", "us-east-1", False),
    ("arn:aws:s3:::logs-?", "arn:aws:s3:::logs-1", True),
    ("arn:aws:s3:::logs-?", "arn:aws:s3:::logs-12", False),
    ("re:arn:aws:s3:::logs-.*", "arn:aws:s3:::logs-prod", True),
    ("re:logs-.*", "arn:aws:s3:::logs-prod", False),
    ("re:prod", "prod-logs", False),
    ("re:a|ab", "ab", True),
    ("re:a|ab", "abc", False),
    ("re:LOGS-.*", "logs-prod", False),
])
def test_pattern_matches_whole_values(pattern: str, value: str, expected: bool) -> None:
    assert Pattern.parse(pattern).matches(value) is expected


MATCH_CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, str], bool]] = [
    ("rule exact", {"rule": "aws-s3-bucket-policy-public"}, {}, {}, True),
    ("rule prefix is not a match", {"rule": "aws-s3-bucket"}, {}, {}, False),
    ("rule glob", {"rule": "aws-s3-*"}, {}, {}, True),
    ("rule glob other service", {"rule": "aws-iam-*"}, {}, {}, False),
    ("account", {"account": "111122223333"}, {}, {}, True),
    ("account other", {"account": "999988887777"}, {}, {}, False),
    ("account prefix", {"account": "1111"}, {}, {}, False),
    ("region exact", {"region": "eu-west-1"}, {}, {}, True),
    ("region glob", {"region": "eu-*"}, {}, {}, True),
    ("region other", {"region": "us-*"}, {}, {}, False),
    ("resource exact", {"resource": BUCKET}, {}, {}, True),
    ("resource prefix", {"resource": "arn:aws:s3:::logs"}, {}, {}, False),
    ("resource is not a pattern", {"resource": "arn:aws:s3:::logs-*"}, {}, {}, False),
    ("resource_pattern glob", {"resource_pattern": "arn:aws:s3:::logs-*"}, {}, {}, True),
    ("resource_pattern glob substring", {"resource_pattern": "logs-*"}, {}, {}, False),
    ("resource_pattern regex", {"resource_pattern": "re:arn:aws:s3:::logs-(prod|dev)"}, {}, {}, True),
    ("resource_pattern regex substring", {"resource_pattern": "re:logs-prod"}, {}, {}, False),
    ("tag exact", {"tags": {"env": "prod"}}, {}, {"env": "prod"}, True),
    ("tag glob", {"tags": {"env": "pr*"}}, {}, {"env": "prod"}, True),
    ("tag value prefix", {"tags": {"env": "pr"}}, {}, {"env": "prod"}, False),
    ("tag missing key", {"tags": {"owner": "*"}}, {}, {"env": "prod"}, False),
    ("tag every key required", {"tags": {"env": "prod", "team": "data"}}, {}, {"env": "prod"}, False),
    ("tag empty value", {"tags": {"exception": ""}}, {}, {"exception": ""}, True),
    ("tags of another resource", {"tags": {"env": "prod"}}, {"resource_id": "arn:aws:s3:::other"},
     {"env": "prod"}, False),
    ("all matchers", {"rule": "aws-s3-*", "account": "111122223333", "region": "eu-west-1",
                      "resource_pattern": "re:.*:logs-prod", "tags": {"env": "prod"}}, {}, {"env": "prod"}, True),
    ("one matcher of several fails", {"rule": "aws-s3-*", "account": "999988887777"}, {}, {}, False),
]


@pytest.mark.parametrize(("matchers", "finding_changes", "tags", "muted"),
                         [case[1:] for case in MATCH_CASES], ids=[case[0] for case in MATCH_CASES])
def test_suppression_matching(tmp_path: Path, matchers: dict[str, Any], finding_changes: dict[str, Any],
                              tags: dict[str, str], muted: bool) -> None:
    suppressions = _load_entries(tmp_path, {**matchers, "reason": "accepted"})
    finding = _finding(**finding_changes)

    report = apply_suppressions([finding], [_resource(tags=tags)], suppressions, today=TODAY)

    assert (finding.status is Status.MUTED) is muted
    assert report.muted == (1 if muted else 0)


def test_only_fail_findings_are_muted(tmp_path: Path) -> None:
    suppressions = _load_entries(tmp_path, {"rule": "aws-s3-*", "reason": "accepted", "id": "s3-all"})
    failing = _finding()
    passing = _finding(status=Status.PASS, message="Bucket logs-prod is private.")
    not_assessed = _finding(status=Status.ERROR, message="AccessDenied on s3:GetBucketPolicy")

    report = apply_suppressions([failing, passing, not_assessed], [_resource()], suppressions, today=TODAY)

    assert failing.status is Status.MUTED
    assert passing.status is Status.PASS
    assert passing.muted_reason == ""
    assert not_assessed.status is Status.ERROR
    assert not_assessed.muted_reason == ""
    assert report.muted == 1
    assert report.matched == {"s3-all": 1}


def test_muted_reason_names_suppression(tmp_path: Path) -> None:
    suppressions = _load_entries(
        tmp_path,
        {"id": "web-assets", "rule": "aws-s3-bucket-policy-public", "reason": "Public website assets",
         "ticket": "SEC-12", "owner": "web-team"},
        {"rule": "aws-s3-*", "reason": "second match"},
    )
    finding = _finding()

    report = apply_suppressions([finding], [_resource()], suppressions, today=TODAY)

    assert finding.status is Status.MUTED
    assert finding.muted_reason == "Public website assets (suppression web-assets, ticket SEC-12)"
    assert report.matched == {"web-assets": 1, f"{tmp_path / 'suppressions.yaml'}:7": 1}
    assert report.unused == []


def test_suppression_without_id_is_labelled_by_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "suppressions:\n  - rule: aws-s3-*\n    reason: accepted\n")
    finding = _finding()

    apply_suppressions([finding], [_resource()], load_suppressions(path, KNOWN_RULES), today=TODAY)

    assert finding.muted_reason == f"accepted (suppression {path}:2)"


@pytest.mark.parametrize(("today", "applies"), [
    (date(2025, 6, 29), True),
    (date(2025, 6, 30), True),
    (date(2025, 7, 1), False),
    (date(2026, 1, 1), False),
])
def test_expiry_day_still_applies(tmp_path: Path, today: date, applies: bool) -> None:
    suppressions = _load_entries(tmp_path, {"id": "temp", "rule": "aws-s3-*", "reason": "fix planned",
                                            "expires": "2025-06-30"})
    finding = _finding()

    report = apply_suppressions([finding], [_resource()], suppressions, today=today)

    assert (finding.status is Status.MUTED) is applies
    assert [s.id for s in report.expired] == ([] if applies else ["temp"])
    assert report.unused == []


def test_expired_suppression_is_reported_not_unused(tmp_path: Path) -> None:
    path = _write(tmp_path, "suppressions:\n"
                            "  - id: old\n    rule: aws-s3-*\n    reason: waiting for migration\n"
                            "    expires: 2025-01-31\n")
    finding = _finding()

    report = apply_suppressions([finding], [_resource()], load_suppressions(path, KNOWN_RULES), today=TODAY)

    assert finding.status is Status.FAIL
    assert len(report.expired) == 1
    assert report.expired[0].expires == date(2025, 1, 31)
    assert report.expired[0].reason == "waiting for migration"
    assert report.unused == []
    assert report.matched == {}


def test_unused_suppressions_are_reported(tmp_path: Path) -> None:
    suppressions = _load_entries(
        tmp_path,
        {"id": "used", "rule": "aws-s3-bucket-policy-public", "reason": "accepted"},
        {"id": "only-passes", "rule": "aws-s3-bucket-versioning", "reason": "accepted"},
        {"id": "only-errors", "rule": "aws-iam-root-mfa", "reason": "accepted"},
        {"id": "nothing", "account": "999988887777", "reason": "accepted"},
    )
    findings = [
        _finding(),
        _finding(rule_id="aws-s3-bucket-versioning", status=Status.PASS),
        _finding(rule_id="aws-iam-root-mfa", status=Status.ERROR),
    ]

    report = apply_suppressions(findings, [_resource()], suppressions, today=TODAY)

    assert [s.id for s in report.unused] == ["only-passes", "only-errors", "nothing"]
    assert report.matched == {"used": 1, "only-passes": 0, "only-errors": 0, "nothing": 0}
    assert report.muted == 1


def test_valid_file_fields(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
suppressions:
  - id: legacy-logs
    rule: aws-s3-*
    account: 111122223333
    region: eu-west-1
    resource_pattern: "re:arn:aws:s3:::legacy-.*"
    tags: {env: prod, team: "data-*"}
    reason: >
      Legacy log buckets,
      replaced in Q3.
    expires: 2025-09-30
    owner: data-platform
    ticket: 4711
""")

    [suppression] = load_suppressions(path, KNOWN_RULES)

    assert suppression.id == "legacy-logs"
    assert suppression.source == f"{path}:2"
    assert suppression.account is not None
    assert suppression.account.text == "111122223333"
    assert suppression.region is not None
    assert suppression.region.text == "eu-west-1"
    assert suppression.resource_pattern is not None
    assert suppression.resource_pattern.regex is not None
    assert set(suppression.tags) == {"env", "team"}
    assert suppression.reason == "Legacy log buckets, replaced in Q3."
    assert suppression.expires == date(2025, 9, 30)
    assert suppression.owner == "data-platform"
    assert suppression.ticket == "4711"


def test_empty_list_is_valid(tmp_path: Path) -> None:
    assert load_suppressions(_write(tmp_path, "suppressions: []\n"), KNOWN_RULES) == []


ENTRY = "suppressions:\n  - rule: aws-s3-*\n"
"""The first lines of most invalid files below: the entry starts on line 2."""

VALIDATION_CASES: list[tuple[str, str, list[tuple[int, str, str]]]] = [
    ("missing reason", ENTRY + "    region: eu-west-1\n",
     [(2, "suppressions[0].reason", "missing reason")]),
    ("blank reason", ENTRY + "    reason: '  '\n",
     [(3, "suppressions[0].reason", "missing reason")]),
    ("reason not text", ENTRY + "    reason: [a, b]\n",
     [(3, "suppressions[0].reason", "reason must be text")]),
    ("invalid quoted date", ENTRY + "    reason: r\n    expires: '2025-13-01'\n",
     [(4, "suppressions[0].expires", "invalid date '2025-13-01'")]),
    ("invalid unquoted date", ENTRY + "    reason: r\n    expires: 2025-02-30\n",
     [(4, "suppressions[0].expires", "invalid date '2025-02-30'")]),
    ("date in another format", ENTRY + "    reason: r\n    expires: 30/06/2025\n",
     [(4, "suppressions[0].expires", "expected YYYY-MM-DD")]),
    ("date with time", ENTRY + "    reason: r\n    expires: 2025-06-30T12:00:00\n",
     [(4, "suppressions[0].expires", "without a time")]),
    ("unknown key", ENTRY + "    reason: r\n    resource_id: arn:aws:s3:::x\n",
     [(4, "suppressions[0].resource_id", "unknown key 'resource_id'")]),
    ("invalid regex", "suppressions:\n  - resource_pattern: 're:(unclosed'\n    reason: r\n",
     [(2, "suppressions[0].resource_pattern", "invalid regular expression '(unclosed'")]),
    ("invalid tag regex", "suppressions:\n  - reason: r\n    tags:\n      env: 're:[a-'\n",
     [(4, "suppressions[0].tags.env", "invalid regular expression")]),
    ("empty regex", "suppressions:\n  - region: 're:'\n    reason: r\n",
     [(2, "suppressions[0].region", "empty regular expression")]),
    ("no matcher", "suppressions:\n  - reason: everything is fine\n    owner: me\n",
     [(2, "suppressions[0]", "no matcher")]),
    ("typo in rule id", "suppressions:\n  - rule: aws-s3-bucket-policy-publc\n    reason: r\n",
     [(2, "suppressions[0].rule", "did you mean 'aws-s3-bucket-policy-public'?")]),
    ("rule pattern matching no rule", "suppressions:\n  - rule: gcp-*\n    reason: r\n",
     [(2, "suppressions[0].rule", "matches no known rule")]),
    ("empty rule", "suppressions:\n  - rule: ''\n    reason: r\n",
     [(2, "suppressions[0].rule", "must be a non-empty string")]),
    ("unquoted short account", "suppressions:\n  - account: 012345670123\n    reason: r\n",
     [(2, "suppressions[0].account", "quote it")]),
    ("tag value not a string", "suppressions:\n  - reason: r\n    tags:\n      keep: true\n",
     [(4, "suppressions[0].tags.keep", "must be a string")]),
    ("tags not a mapping", "suppressions:\n  - reason: r\n    tags: [env]\n",
     [(3, "suppressions[0].tags", "non-empty mapping")]),
    ("resource not text", "suppressions:\n  - reason: r\n    resource: 42\n",
     [(3, "suppressions[0].resource", "exact resource id")]),
    ("blank owner", ENTRY + "    reason: r\n    owner: ''\n",
     [(4, "suppressions[0].owner", "non-empty text")]),
    ("duplicate id", "suppressions:\n  - {id: a, rule: aws-s3-*, reason: r}\n  - {id: a, region: x, reason: r}\n",
     [(3, "suppressions[1].id", "duplicate id 'a'")]),
    ("entry not a mapping", "suppressions:\n  - aws-s3-*\n",
     [(2, "suppressions[0]", "must be a mapping")]),
    ("list not under suppressions", "- rule: aws-s3-*\n  reason: r\n",
     [(1, "", "must be a mapping with a 'suppressions' list")]),
    ("unknown top-level key", "suppressions: []\nsupressions: []\n",
     [(2, "supressions", "unknown top-level key 'supressions'")]),
    ("suppressions not a list", "suppressions: {rule: aws-s3-*}\n",
     [(1, "suppressions", "must be a list")]),
    ("invalid YAML", "suppressions:\n  - rule: [aws-s3-*\n    reason: r\n",
     [(3, "", "invalid YAML")]),
    ("every problem of a file", "suppressions:\n  - rule: aws-s3-*\n  - reason: r\n    regoin: eu-west-1\n",
     [(2, "suppressions[0].reason", "missing reason"),
      (3, "suppressions[1]", "no matcher"),
      (4, "suppressions[1].regoin", "unknown key 'regoin'")]),
]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in VALIDATION_CASES],
                         ids=[case[0] for case in VALIDATION_CASES])
def test_validation_errors(tmp_path: Path, text: str, expected: list[tuple[int, str, str]]) -> None:
    errors = _errors(tmp_path, text)

    assert [(line, field) for line, field, _ in errors] == [(line, field) for line, field, _ in expected]
    for (_, _, message), (_, _, fragment) in zip(errors, expected, strict=True):
        assert fragment in message


def test_error_message_has_file_line_field(tmp_path: Path) -> None:
    path = _write(tmp_path, ENTRY)

    with pytest.raises(SuppressionErrors) as raised:
        load_suppressions(path, KNOWN_RULES)

    assert str(raised.value).startswith(f"{path}:2: field 'suppressions[0].reason': missing reason")


def _printed(report: SuppressionReport) -> str:
    stream = io.StringIO()
    print_suppression_report(report, Console(file=stream, width=200, color_system=None))
    return stream.getvalue()


def test_report_printing_is_terse() -> None:
    expired = Suppression(reason="fix\nplanned", source="s.yaml:2", id="old", expires=date(2025, 1, 31))
    unused = Suppression(reason="accepted", source="s.yaml:7")

    output = _printed(SuppressionReport(muted=3, matched={"a": 3, "s.yaml:7": 0}, expired=[expired],
                                        unused=[unused]))

    assert output.splitlines() == [
        "Suppressions: 3 finding(s) muted by 1 of 2 active suppression(s)",
        "1 suppression(s) expired and no longer apply:",
        "  old (expired 2025-01-31): fix planned",
        "1 suppression(s) matched no FAIL finding:",
        "  s.yaml:7: accepted",
    ]


def test_report_printing_escapes_text() -> None:
    hostile = Suppression(reason="[red]x[/red] \x1b[2J", source="s.yaml:2", id="id\x1b]0;t\x07")

    output = _printed(SuppressionReport(matched={hostile.label: 0}, unused=[hostile]))

    assert "\x1b" not in output
    assert "\x07" not in output
    assert "[red]x[/red]" in output
    assert "\\x1b" in output


def test_report_printing_caps_long_lists() -> None:
    unused = [Suppression(reason="r", source=f"s.yaml:{line}") for line in range(25)]

    output = _printed(SuppressionReport(matched={s.label: 0 for s in unused}, unused=unused))

    assert "25 suppression(s) matched no FAIL finding:" in output
    assert "  ... and 15 more" in output
    assert "s.yaml:10:" not in output
