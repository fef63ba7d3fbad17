"""Shared fixtures: moto's server over HTTP, an emulated account per test, and scan helpers."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ridgeline.demo.emulator import Emulator, emulator_client, emulator_environment, reset_emulator, running_emulator
from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.pipeline import ScanResult, evaluate_collection
from ridgeline.providers.aws.scanner import AwsScanOptions, collect_aws
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import load_builtin_rules
from ridgeline.rules.model import Rule
from ridgeline.store.database import Store

SHARED_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "cspm-samples"


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """moto's server on a free loopback port for the whole test session."""
    with running_emulator() as running:
        yield running


@pytest.fixture(scope="session")
def builtin_rules() -> list[Rule]:
    """Every built-in rule, loaded once."""
    return load_builtin_rules()


class AwsAccount:
    """An empty emulated AWS account (123456789012), reached over HTTP with real boto3 clients."""

    account_id = "123456789012"

    def __init__(self, endpoint: str, rules: list[Rule]) -> None:
        self.endpoint = endpoint
        self.rules = rules

    def client(self, service: str, region: str = "us-east-1") -> Any:
        """Return a boto3 client bound to the emulator."""
        return emulator_client(self.endpoint, service, region)

    def scan(self, services: Sequence[str], regions: Sequence[str] = ("us-east-1",)) -> ScanResult:
        """Collect `services` in `regions` and evaluate the built-in rules (nothing is stored)."""
        collection = collect_aws(AwsScanOptions(regions=list(regions), services=list(services)))
        return evaluate_collection(collection, self.rules, store=None)


@pytest.fixture
def aws(emulator: Emulator, builtin_rules: list[Rule]) -> Iterator[AwsAccount]:
    """A freshly reset emulated account, with boto3's environment pointed at it."""
    reset_emulator(emulator.endpoint)
    with emulator_environment(emulator.endpoint):
        yield AwsAccount(emulator.endpoint, builtin_rules)


def evaluate_resources(rules: list[Rule], resources: Sequence[Resource], services: Sequence[str]) -> list[Finding]:
    """Evaluate rules on hand-built envelopes, as if `services` had been collected completely.

    For states the emulator cannot produce; the envelopes must follow the provider's shape.
    """
    accounts = {(r.account, r.region) for r in resources} or {("123456789012", "us-east-1")}
    coverage = [Coverage(provider="aws", account=account, region=region, service=service)
                for service in services for account, region in accounts]
    coverage += [Coverage(provider="aws", account=account, region="global", service=service)
                 for service in services for account in {a for a, _ in accounts}]
    return Engine(rules).evaluate(list(resources), coverage)


def findings_of(result: ScanResult | list[Finding], rule_id: str) -> list[Finding]:
    """Return the findings of one rule."""
    findings = result.findings if isinstance(result, ScanResult) else result
    return [finding for finding in findings if finding.rule_id == rule_id]


def finding_for(result: ScanResult | list[Finding], rule_id: str, resource_name: str) -> Finding:
    """Return the single finding of `rule_id` on the resource named `resource_name`."""
    matches = [f for f in findings_of(result, rule_id) if f.resource_name == resource_name]
    names = sorted({f.resource_name for f in findings_of(result, rule_id)})
    assert len(matches) == 1, (
        f"expected one {rule_id} finding for {resource_name!r}, found {len(matches)} among {names}"
    )
    return matches[0]


def status_of(result: ScanResult | list[Finding], rule_id: str, resource_name: str) -> Status:
    """Return the status of `rule_id` on the resource named `resource_name`."""
    return finding_for(result, rule_id, resource_name).status


def shared_samples() -> Path:
    """Return the shared sample folder, or skip the test when this checkout lacks it."""
    if not SHARED_SAMPLES.is_dir():
        pytest.skip(f"shared sample folder {SHARED_SAMPLES} is absent in this checkout")
    return SHARED_SAMPLES


def postgres_url() -> str:
    """Return the PostgreSQL URL for tests, or skip when no server responds."""
    url = os.environ.get("RIDGELINE_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")
    return url


def set_moto_auth(endpoint: str, initial_free_requests: str) -> None:
    """Make moto check IAM policies after `initial_free_requests` more requests ("0" now, "inf" never)."""
    # A form content type would make Flask consume the body before moto reads it.
    request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", method="POST",
                                     data=initial_free_requests.encode(), headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def restricted_user_keys(aws: AwsAccount, denied_actions: list[str]) -> dict[str, str]:
    """Create a user allowed everything except `denied_actions`; return its keys as environment values."""
    iam = aws.client("iam")
    iam.create_user(UserName="auditor")
    iam.put_user_policy(UserName="auditor", PolicyName="almost-everything", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": denied_actions, "Resource": "*"},
        ],
    }))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A URL of the local PostgreSQL whose search path is a fresh schema, dropped after the test.

    Skips with the reason when psycopg is missing or the server does not respond (CI starts it).
    """
    import uuid

    import sqlalchemy
    from sqlalchemy.engine import make_url

    pytest.importorskip("psycopg", reason="psycopg is not installed; install the dev extra for PostgreSQL tests")
    base = make_url(postgres_url())
    admin = sqlalchemy.create_engine(base, connect_args={"connect_timeout": 3})
    try:
        with admin.connect():
            pass
    except sqlalchemy.exc.OperationalError as error:
        admin.dispose()
        pytest.skip(f"PostgreSQL at {base.render_as_string(hide_password=True)} does not answer: {error.orig}")

    name = f"ridgeline_test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f'CREATE SCHEMA "{name}"'))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(sqlalchemy.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store on SQLite (in a folder that does not exist yet) and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'nested' / 'ridgeline.db'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    opened = Store(url)
    yield opened
    opened.engine.dispose()
