"""`ridgeline scan file` keeps secrets out of the store, every report and the terminal, for each cloud.

Each export contains the kinds of secret that were once stored verbatim. These are passwords in URLs (with
a raw "@", "#", "?" or "/" too), PEM private keys, Cloud SQL labels beside the database flags, and tags,
labels and GCP metadata items named `pw`, `pwd`, `credentials`, `credential` or `secret-label`. Each secret contains the
marker "sekret" in some case. A rule of this file cites the whole configuration and the tags of every
resource as evidence, so a secret that redaction missed would reach the reports. Values that are not
secret carry "keep-" and must stay, which shows that the files are read as text where a marker could be
found.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ridgeline.cli import main
from ridgeline.model.redaction import REDACTED

MARKER = b"sekret"
KEPT = b"keep-"
FORMATS = "json,ocsf,html,csv,asff,sarif,junit"
PEM = "-----BEGIN {kind}PRIVATE KEY-----\nMIIEowIBAAKCAQEA{marker}\n-----END {kind}PRIVATE KEY-----\n"

# A rule per cloud and service that fails every resource and cites all of its configuration and tags.
CITING_RULES: list[tuple[str, str, list[str]]] = [
    ("aws", "s3", ["AWS::S3::Bucket"]),
    ("aws", "ec2", ["AWS::EC2::Instance"]),
    ("gcp", "compute", ["compute.googleapis.com/Instance"]),
    ("gcp", "sqladmin", ["sqladmin.googleapis.com/Instance"]),
    ("azure", "storage", ["Microsoft.Storage/storageAccounts"]),
]


def _citing_rules(path: Path) -> Path:
    rules = [{"id": f"test-cites-{provider}-{service}", "title": "Evidence cites the configuration and tags",
              "severity": "high", "category": "encryption", "provider": provider, "service": service,
              "resource_types": types,
              "fail_if": {"all": [{"path": "configuration", "exists": True}, {"path": "tags", "exists": True}]},
              "description": "d", "risk": "r", "remediation": {"text": "t"}}
             for provider, service, types in CITING_RULES]
    path.write_text(json.dumps({"rules": rules}))
    return path


def _aws_item(resource_type: str, resource_id: str, configuration: dict[str, Any],
              tags: dict[str, str]) -> dict[str, Any]:
    return {"configurationItemVersion": "1.3", "awsAccountId": "111122223333", "configurationItemStatus": "OK",
            "configurationItemCaptureTime": "2024-05-01T10:00:00.000Z", "resourceType": resource_type,
            "resourceId": resource_id, "resourceName": resource_id,
            "ARN": f"arn:aws:test:eu-west-1:111122223333:{resource_id}", "awsRegion": "eu-west-1", "tags": tags,
            "relationships": [], "configuration": configuration, "supplementaryConfiguration": {}}


def _aws_export(path: Path) -> Path:
    bucket = _aws_item("AWS::S3::Bucket", "web-bucket", {"name": "web-bucket"}, {
        "endpoint": "https://user:SeKrEt-A10@example.com", "pw": "SeKrEt-A11", "pwd": "SeKrEt-A12",
        "credentials": "SeKrEt-A13", "secret-label": "SeKrEt-A14", "team": "keep-a1",
        "db": "mysql://root:QQV01#SeKrEt-A18@db.internal/app", "cache": "redis://:a/b?SeKrEt-A19@h:6379"})
    instance = _aws_item("AWS::EC2::Instance", "i-0123456789abcdef0", {
        "instanceId": "i-0123456789abcdef0", "instanceType": "t3.micro",
        "tags": [{"key": "secret-label", "value": "SeKrEt-A15"}, {"key": "team", "value": "keep-a2"}],
        "description": PEM.format(kind="RSA ", marker="SeKrEt-A16"),
        "monitoring": {"state": "mongodb://app:SeKrEt-A17@db.internal/app",
                       "replica": "mongodb://app:p@SeKrEt-A22#w?o/rd@mongo/x"},
        "note": 'deploy with {"url": "https:\\/\\/app:SeKrEt-A20@h\\/db"}, Password: SeKrEt-A21'}, {})
    path.write_text(json.dumps({"fileVersion": "1.0", "configurationItems": [bucket, instance]}))
    return path


def _gcp_asset(asset_type: str, name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"name": f"//{asset_type.split('/')[0]}/projects/secret-project/{name}", "asset_type": asset_type,
            "ancestors": ["projects/100000000077"],
            "resource": {"version": "v1", "location": "us-central1", "data": {"projectId": "secret-project", **data},
                         "parent": "//cloudresourcemanager.googleapis.com/projects/100000000077"}}


def _gcp_export(path: Path) -> Path:
    instance = _gcp_asset("compute.googleapis.com/Instance", "zones/us-central1-a/instances/vm1", {
        "name": "vm1", "status": "RUNNING",
        "labels": {"pw": "SeKrEt-G08", "secret-label": "SeKrEt-G09", "credentials": "SeKrEt-G10", "team": "keep-g1"},
        "metadata": {"items": [
            {"key": "my-config", "value": "mysql://root:SeKrEt-G05@10.0.0.5/db"},
            {"key": "deploy-key", "value": PEM.format(kind="", marker="SeKrEt-G06")},
            {"key": "enable-oslogin", "value": "keep-g2"},
            {"key": "secret-label", "value": "SeKrEt-G11"}, {"key": "Credentials-Prod", "value": "SeKrEt-G12"},
            {"key": "credential", "value": "SeKrEt-G13"}, {"key": "SECRET_LABEL", "value": "SeKrEt-G14"},
            {"key": "db-url", "value": "mysql://root:QQV01#SeKrEt-G15@10.0.0.6/db"}]}})
    database = _gcp_asset("sqladmin.googleapis.com/Instance", "instances/db1", {
        "name": "db1", "databaseVersion": "POSTGRES_15", "instanceType": "CLOUD_SQL_INSTANCE",
        "settings": {"tier": "db-custom-1-3840", "userLabels": {"pw": "SeKrEt-G07", "team": "keep-g3"},
                     "databaseFlags": [{"name": "log_connections", "value": "off"}],
                     "ipConfiguration": {"ipv4Enabled": False}}})
    path.write_text("".join(json.dumps(asset) + "\n" for asset in (instance, database)))
    return path


def _azure_export(path: Path) -> Path:
    group = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers"
    account = {
        "id": f"{group}/Microsoft.Storage/storageAccounts/stsecrets", "name": "stsecrets",
        "type": "Microsoft.Storage/storageAccounts", "location": "eastus",
        "tags": {"db": "postgresql://u:SeKrEt-Z91@h/db", "cache": "redis://:SeKrEt-Z92@h:6379",
                 "dsn": "mysql://root:QQV01#SeKrEt-Z97@h/db",
                 "pwd": "SeKrEt-Z93", "credentials": "SeKrEt-Z94", "secret-label": "SeKrEt-Z95", "team": "keep-z1"},
        "properties": {"supportsHttpsTrafficOnly": False, "minimumTlsVersion": "TLS1_0",
                       "customDomain": {"name": "keep-z2.example.com"},
                       "note": PEM.format(kind="EC ", marker="SeKrEt-Z96")}}
    path.write_text(json.dumps([account]))
    return path


EXPORTS = {"aws": ("config.json", _aws_export), "gcp": ("assets.jsonl", _gcp_export),
           "azure": ("arm.json", _azure_export)}


def _files_text(folder: Path, pattern: str) -> dict[str, bytes]:
    return {path.name: path.read_bytes().lower() for path in sorted(folder.glob(pattern)) if path.is_file()}


@pytest.mark.parametrize("provider", sorted(EXPORTS))
def test_scan_file_stores_and_reports_no_secret(tmp_path: Path, provider: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    name, write = EXPORTS[provider]
    export = write(tmp_path / name)
    rules = _citing_rules(tmp_path / "rules.json")
    database = f"sqlite:///{tmp_path / 'store' / 'ridgeline.db'}"
    (tmp_path / "store").mkdir()
    caplog.set_level(logging.DEBUG)

    scanned = CliRunner().invoke(main, ["scan", "file", str(export), "--database", database, "--rules", str(rules),
                                        "-o", str(tmp_path / "out"), "-f", FORMATS])
    reported = CliRunner().invoke(main, ["report", "latest", "--database", database, "--rules", str(rules),
                                         "-o", str(tmp_path / "again"), "-f", FORMATS, "--summary"])

    assert scanned.exit_code == 0, scanned.output
    assert reported.exit_code == 0, reported.output
    reports = _files_text(tmp_path / "out", "*")
    assert {path.rsplit(".", 1)[-1] for path in reports} >= {"json", "html", "csv", "sarif", "xml"}
    stored = _files_text(tmp_path / "store", "ridgeline.db*")
    texts = {**{f"out/{key}": value for key, value in reports.items()},
             **{f"again/{key}": value for key, value in _files_text(tmp_path / "again", "*").items()},
             **{f"store/{key}": value for key, value in stored.items()},
             "scan stdout": scanned.stdout.lower().encode(), "scan stderr": scanned.stderr.lower().encode(),
             "report stdout": reported.stdout.lower().encode(), "report stderr": reported.stderr.lower().encode(),
             "log": caplog.text.lower().encode()}
    leaks = {where: text.count(MARKER) for where, text in texts.items() if MARKER in text}
    assert leaks == {}

    # The store and the native report keep the rest, so the search read real text, not empty or encoded files.
    store = b"".join(stored.values())
    report = next(text for where, text in reports.items() if where.endswith(".json") and b'"findings"' in text)
    for text in (store, report):
        assert KEPT in text
        assert REDACTED.encode() in text


def test_gcp_scan_keeps_url_user_and_host(tmp_path: Path) -> None:
    export = _gcp_export(tmp_path / "assets.jsonl")
    rules = _citing_rules(tmp_path / "rules.json")

    result = CliRunner().invoke(main, ["scan", "file", str(export), "--no-store", "--rules", str(rules),
                                       "-o", str(tmp_path / "out"), "-f", "json"])

    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "out").glob("ridgeline-gcp-*.json")
    findings = json.loads(path.read_text())["findings"]
    cited = next(finding for finding in findings if finding["rule_id"] == "test-cites-gcp-compute")
    assert f"mysql://root:{REDACTED}@10.0.0.5/db" in json.dumps(cited["evidence"])
    # A raw "#" in the password: the password alone goes, the user and the host stay.
    assert f"mysql://root:{REDACTED}@10.0.0.6/db" in json.dumps(cited["evidence"])
    flags = next(finding for finding in findings if finding["rule_id"] == "gcp-sql-postgres-log-connections")
    assert flags["status"] == "FAIL"
    assert set(flags["evidence"]) <= {"configuration.settings.databaseFlags", "gcp.sql_flag_unsafe"}
