"""Key Vault certificates: the data-plane reads of a live scan, the importer, the validity check and the role.

The live-scan tests drive the real azure-core pipeline against the local HTTPS server of fake_arm.py, which
serves each vault's data plane under `/keyvault/{vault}/` and writes that address into the vault's
`vaultUri`. The item and policy bodies follow the GetCertificates and GetCertificatePolicy examples of the
Key Vault data-plane specification (stable/7.4). The Azure CLI items follow `az keyvault certificate list`
and `show` output.
"""

from __future__ import annotations

import copy
import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ridgeline.imports.azure_arm import iter_azure_resources
from ridgeline.imports.collection import import_files
from ridgeline.imports.evaluate import import_and_evaluate
from ridgeline.imports.report import ImportReport
from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness, Coverage
from ridgeline.providers.aws.scanner import Collection
from ridgeline.providers.azure.calls import AzureCallFailed
from ridgeline.providers.azure.catalog import CERTIFICATE_TYPE, certificate_document, split_certificate_uri
from ridgeline.providers.azure.dataplane import VaultEndpoint, keyvault_error, vault_endpoint
from ridgeline.providers.azure.declarations import CERTIFICATES_DATA_ACTION, LIST_CERTIFICATES
from ridgeline.providers.azure.permissions import BUILTIN_NOTE, scan_role
from ridgeline.rules.checks_azure_keyvault import certificate_validity_exceeds
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import load_builtin_rules
from ridgeline.rules.model import Rule, fill_template
from tests.azure.conftest import AzureScanner
from tests.azure.fake_arm import keyvault_error as fake_keyvault_error
from tests.azure.tenant import SUB_A, TENANT, VAULT, graph_row, rid

RULE_ID = "azure-keyvault-certificate-validity"
LEGACY_VAULT = rid(SUB_A, "Microsoft.KeyVault/vaults/kv-legacy")

# 2026-01-01T00:00:00Z, 2027-01-01 (365 days later) and 2028-01-01 (two years later).
JAN_2026, JAN_2027, JAN_2028 = 1767225600, 1798761600, 1830297600


@pytest.fixture(scope="module")
def rule() -> Rule:
    return next(item for item in load_builtin_rules() if item.id == RULE_ID)


def certificate_item(vault_uri: str, name: str, nbf: int = JAN_2026, exp: int = JAN_2027,
                     enabled: bool = True) -> dict[str, Any]:
    """Return one "Get Certificates" item (REST shape)."""
    return {"id": f"{vault_uri.rstrip('/')}/certificates/{name}", "x5t": "fLi3U52HunIVNXubkEnf8tP6Wbo",
            "attributes": {"enabled": enabled, "nbf": nbf, "exp": exp, "created": nbf, "updated": nbf},
            "tags": {"app": name}}


def policy_body(vault_uri: str, name: str, months: int) -> dict[str, Any]:
    """Return one "Get Certificate Policy" body (REST shape)."""
    return {"id": f"{vault_uri.rstrip('/')}/certificates/{name}/policy",
            "key_props": {"exportable": True, "kty": "RSA", "key_size": 2048, "reuse_key": False},
            "secret_props": {"contentType": "application/x-pkcs12"},
            "x509_props": {"subject": f"CN={name}", "ekus": [], "key_usage": [], "validity_months": months},
            "lifetime_actions": [{"trigger": {"lifetime_percentage": 80}, "action": {"action_type": "EmailContacts"}}],
            "issuer": {"name": "Self"},
            "attributes": {"enabled": True, "created": JAN_2026, "updated": JAN_2026}}


def add_legacy_vault(scanner: AzureScanner) -> None:
    """Add a second vault to subscription A that uses access policies, with empty ARM listings."""
    fake = scanner.fake
    fake.tables["resources"].append(graph_row({
        "id": LEGACY_VAULT, "name": "kv-legacy", "type": "Microsoft.KeyVault/vaults", "location": "northeurope",
        "properties": {"tenantId": TENANT, "sku": {"family": "A", "name": "standard"}, "accessPolicies": [],
                       "enableRbacAuthorization": False}}, SUB_A))
    for suffix in ("/keys", "/secrets", "/providers/Microsoft.Insights/diagnosticSettings"):
        fake.put(f"{LEGACY_VAULT}{suffix}", {"value": []})


def by_id(collection: Collection, resource_id: str) -> Resource:
    matches = [resource for resource in collection.resources if resource.id == resource_id]
    assert len(matches) == 1, f"{resource_id}: {len(matches)} resource(s)"
    return matches[0]


def keyvault_unit(collection: Collection) -> Coverage:
    (match,) = [unit for unit in collection.coverage if (unit.account, unit.service) == (SUB_A, "keyvault")]
    return match


def verdicts(collection: Collection, rule: Rule) -> dict[str, tuple[Status, str]]:
    findings: list[Finding] = Engine([rule]).evaluate(collection.resources, collection.coverage)
    return {finding.resource_id: (finding.status, finding.message) for finding in findings
            if finding.rule_id == RULE_ID}


# Live scan ----------------------------------------------------------------------------------------------

def test_certificates_and_policies_are_read(azure_scan: AzureScanner, rule: Rule) -> None:
    fake = azure_scan.fake
    uri = fake.vault_uri("kv-app")
    path = fake.vault_path("kv-app", "/certificates")
    # Two pages: Key Vault's nextLink is absolute and carries the api-version and a $skiptoken.
    fake.put(path, {"value": [certificate_item(uri, "web-tls", exp=JAN_2028)],
                    "nextLink": f"{uri}certificates?api-version=7.4&$skiptoken=2&maxresults=25"})
    fake.put(f"{path}?$skiptoken=2", {"value": [certificate_item(uri, "api-tls")], "nextLink": None})
    fake.put(fake.vault_path("kv-app", "/certificates/web-tls/policy"), policy_body(uri, "web-tls", 24))
    fake.put(fake.vault_path("kv-app", "/certificates/api-tls/policy"), policy_body(uri, "api-tls", 12))

    collection = azure_scan.scan()

    web = by_id(collection, f"{VAULT}/certificates/web-tls")
    assert (web.type, web.name, web.account, web.region) == (CERTIFICATE_TYPE, "web-tls", SUB_A, "westeurope")
    properties = web.configuration["properties"]
    assert properties["attributes"]["exp"] == JAN_2028
    assert properties["x509Thumbprint"] == "fLi3U52HunIVNXubkEnf8tP6Wbo"
    assert properties["certificateUri"] == f"{uri}certificates/web-tls"
    assert properties["policy"]["x509_props"]["validity_months"] == 24
    assert web.tags == {"app": "web-tls"}
    assert web.relationships[0]["resourceId"] == VAULT
    assert not web.errors

    keyvault = keyvault_unit(collection)
    assert keyvault.status is Completeness.COMPLETE, keyvault.to_dict()
    assert keyvault.resource_counts[CERTIFICATE_TYPE] == 2
    results = verdicts(collection, rule)
    # The message names the certificate by its id, which contains the vault (kv-app).
    assert results[f"{VAULT}/certificates/web-tls"] == (
        Status.FAIL, f"Certificate {VAULT}/certificates/web-tls is valid for more than 12 months.")
    assert results[f"{VAULT}/certificates/api-tls"][0] is Status.PASS
    assert len(results) == 2

    listed = fake.requests_to(path)
    assert len(listed) == 2
    assert all(request.query["api-version"] == ["7.4"] for request in listed)
    assert fake.requests_to(fake.vault_path("kv-app", "/certificates/web-tls/policy"))
    # The vault's token comes from the vault's tenant. This vault is served by the Resource Manager host
    # itself, so its token is the Resource Manager one; a real vault's scope is tested below.
    assert ((f"{fake.base_url}/.default",), TENANT) in azure_scan.credential.requests


def test_firewall_refusal_is_error_for_that_vault(azure_scan: AzureScanner, rule: Rule) -> None:
    fake = azure_scan.fake
    add_legacy_vault(azure_scan)
    legacy_uri = fake.vault_uri("kv-legacy")
    fake.put_certificates("kv-legacy", [certificate_item(legacy_uri, "legacy-tls")],
                          {"legacy-tls": policy_body(legacy_uri, "legacy-tls", 12)})
    fake.script(fake.vault_path("kv-app", "/certificates"), fake_keyvault_error(
        403, "Forbidden", "Client address is not authorized and caller is not a trusted service.",
        inner="ForbiddenByFirewall"))

    collection = azure_scan.scan()

    keyvault = keyvault_unit(collection)
    assert keyvault.status is Completeness.PARTIAL
    reason = keyvault.failed_types[CERTIFICATE_TYPE]
    assert reason.startswith(f"ForbiddenByFirewall on {CERTIFICATES_DATA_ACTION} ({VAULT})")
    assert "firewall rejects the scanner's network" in reason
    assert [(error.call, error.code, error.resource_id) for error in keyvault.errors] == [
        (CERTIFICATES_DATA_ACTION, "ForbiddenByFirewall", VAULT)]
    legacy = by_id(collection, f"{LEGACY_VAULT}/certificates/legacy-tls")
    assert legacy.region == "northeurope"

    # The refused vault's certificates are unknown: an ERROR for the subscription, never a PASS.
    results = verdicts(collection, rule)
    status, message = results[f"azure:{SUB_A}"]
    assert status is Status.ERROR
    assert "ForbiddenByFirewall" in message
    assert VAULT in message
    assert results[legacy.id][0] is Status.PASS
    assert set(results) == {f"azure:{SUB_A}", legacy.id}


@pytest.mark.parametrize(("vault", "response", "code", "hint"), [
    ("kv-app", (403, "Forbidden", "Caller is not authorized to perform action on resource.", "ForbiddenByRbac"),
     "ForbiddenByRbac", f"data action {CERTIFICATES_DATA_ACTION} on the vault (the role Key Vault Reader"),
    ("kv-legacy", (403, "Forbidden", "The user, group or application does not have certificates list permission.",
                   "ForbiddenByPolicy"),
     "ForbiddenByPolicy", "access policy to the vault that grants the scan's identity the certificate permissions "
                          "get and list"),
    ("kv-app", (401, "Unauthorized", "AKV10022: Invalid audience.", None),
     "Unauthorized", f"token from the vault's tenant {TENANT}"),
])
def test_denials_name_the_next_step(azure_scan: AzureScanner, rule: Rule, vault: str,
                                    response: tuple[int, str, str, str | None], code: str, hint: str) -> None:
    add_legacy_vault(azure_scan)
    status, outer, message, inner = response
    azure_scan.fake.script(azure_scan.fake.vault_path(vault, "/certificates"),
                           fake_keyvault_error(status, outer, message, inner=inner))

    collection = azure_scan.scan()

    reason = keyvault_unit(collection).failed_types[CERTIFICATE_TYPE]
    assert reason.startswith(f"{code} on {CERTIFICATES_DATA_ACTION}")
    assert hint in reason
    assert verdicts(collection, rule)[f"azure:{SUB_A}"][0] is Status.ERROR


def test_every_refused_vault_is_named(azure_scan: AzureScanner) -> None:
    fake = azure_scan.fake
    add_legacy_vault(azure_scan)
    for vault in ("kv-app", "kv-legacy"):
        fake.script(fake.vault_path(vault, "/certificates"),
                    fake_keyvault_error(403, "Forbidden", "denied", inner="ForbiddenByFirewall"))

    collection = azure_scan.scan()

    reason = keyvault_unit(collection).failed_types[CERTIFICATE_TYPE]
    assert VAULT in reason
    assert LEGACY_VAULT in reason


def test_refused_policy_leaves_that_certificate_unknown(azure_scan: AzureScanner, rule: Rule) -> None:
    fake = azure_scan.fake
    uri = fake.vault_uri("kv-app")
    fake.put_certificates("kv-app", [certificate_item(uri, "web-tls"), certificate_item(uri, "api-tls")],
                          {"api-tls": policy_body(uri, "api-tls", 12)})
    fake.script(fake.vault_path("kv-app", "/certificates/web-tls/policy"),
                fake_keyvault_error(403, "Forbidden", "no certificates get permission", inner="ForbiddenByRbac"))

    collection = azure_scan.scan()

    web = by_id(collection, f"{VAULT}/certificates/web-tls")
    assert "policy" not in web.configuration["properties"]
    assert web.errors["configuration.properties.policy"].startswith(
        f"ForbiddenByRbac on {CERTIFICATES_DATA_ACTION}: no certificates get permission")
    keyvault = keyvault_unit(collection)
    assert keyvault.status is Completeness.PARTIAL
    assert CERTIFICATE_TYPE not in keyvault.failed_types
    results = verdicts(collection, rule)
    # The attributes alone (one year) would pass; the policy decides and could not be read.
    assert results[web.id][0] is Status.ERROR
    assert results[f"{VAULT}/certificates/api-tls"][0] is Status.PASS


@pytest.mark.parametrize(("vault_uri", "code"), [
    ("https://kv-app.vault.example.com/", "UnexpectedVaultUri"),
    ("http://kv-app.vault.azure.net/", "InvalidVaultUri"),
    ("", "NoVaultUri"),
])
def test_unusable_vault_uri_sends_nothing(azure_scan: AzureScanner, rule: Rule, vault_uri: str, code: str) -> None:
    fake = azure_scan.fake
    for row in fake.tables["resources"]:
        if row["id"] == VAULT:
            row["properties"]["vaultUri"] = vault_uri

    collection = azure_scan.scan()

    assert keyvault_unit(collection).failed_types[CERTIFICATE_TYPE].startswith(f"{code} on {CERTIFICATES_DATA_ACTION}")
    assert not [request for request in fake.requests if request.path.startswith("/keyvault/")]
    assert verdicts(collection, rule)[f"azure:{SUB_A}"][0] is Status.ERROR


def test_next_link_to_another_host_fails_the_vault(azure_scan: AzureScanner) -> None:
    fake = azure_scan.fake
    uri = fake.vault_uri("kv-app")
    fake.put(fake.vault_path("kv-app", "/certificates"), {
        "value": [certificate_item(uri, "web-tls")],
        "nextLink": "https://kv-app.vault.attacker.example/certificates?api-version=7.4&$skiptoken=2"})

    collection = azure_scan.scan()

    assert "UnexpectedNextLink" in keyvault_unit(collection).failed_types[CERTIFICATE_TYPE]
    assert not [resource for resource in collection.resources if resource.type == CERTIFICATE_TYPE]


def test_graph_failure_fails_certificates_too(azure_scan: AzureScanner) -> None:
    azure_scan.fake.script("graph:resources", fake_keyvault_error(403, "AuthorizationFailed", "no access"))

    collection = azure_scan.scan(subscriptions=[SUB_A])

    reason = keyvault_unit(collection).failed_types[CERTIFICATE_TYPE]
    assert reason.startswith("its parent type Microsoft.KeyVault/vaults could not be listed")
    assert not [request for request in azure_scan.fake.requests if request.path.startswith("/keyvault/")]


def test_role_grants_the_certificate_data_action() -> None:
    role = scan_role(["/subscriptions/x"])

    assert role["DataActions"] == [CERTIFICATES_DATA_ACTION]
    assert CERTIFICATES_DATA_ACTION not in role["Actions"]
    assert "certificate permissions get and list" in BUILTIN_NOTE
    assert "Key Vault Reader" in BUILTIN_NOTE


# Vault endpoints ----------------------------------------------------------------------------------------

def vault(uri: str, tenant: str | None = TENANT) -> Resource:
    properties: dict[str, Any] = {"vaultUri": uri}
    if tenant is not None:
        properties["tenantId"] = tenant
    return Resource(provider="azure", account=SUB_A, region="westeurope", type="Microsoft.KeyVault/vaults",
                    id=VAULT, name="kv-app", configuration={"properties": properties})


@pytest.mark.parametrize(("uri", "expected"), [
    ("https://kv-app.vault.azure.net/", VaultEndpoint("https://kv-app.vault.azure.net",
                                                      "https://vault.azure.net/.default", TENANT)),
    ("https://KV-App.Vault.Azure.Net", VaultEndpoint("https://KV-App.Vault.Azure.Net",
                                                     "https://vault.azure.net/.default", TENANT)),
    ("https://kv-gov.vault.usgovcloudapi.net/", VaultEndpoint("https://kv-gov.vault.usgovcloudapi.net",
                                                              "https://vault.usgovcloudapi.net/.default", TENANT)),
    ("https://kv-cn.vault.azure.cn/", VaultEndpoint("https://kv-cn.vault.azure.cn",
                                                    "https://vault.azure.cn/.default", TENANT)),
    # A vault on the Resource Manager host (a local emulator) gets the Resource Manager token.
    ("https://127.0.0.1:8443/keyvault/kv-app/", VaultEndpoint("https://127.0.0.1:8443/keyvault/kv-app",
                                                              "https://127.0.0.1:8443/.default", TENANT)),
])
def test_vault_endpoint_scope(uri: str, expected: VaultEndpoint) -> None:
    assert vault_endpoint(vault(uri), "https://127.0.0.1:8443") == expected


@pytest.mark.parametrize("uri", [
    "https://kv-app.vault.azure.net.attacker.example/",
    "https://a.kv-app.vault.azure.net/",
    "https://vault.azure.net/",
    "https://127.0.0.1:9443/keyvault/kv-app/",
    "https://kv-app.vault.azure.net/?x=1",
    "https://kv-app.vault.azure.net:https/",
])
def test_vault_endpoint_refuses_other_hosts(uri: str) -> None:
    with pytest.raises(AzureCallFailed) as raised:
        vault_endpoint(vault(uri), "https://127.0.0.1:8443")
    assert raised.value.resource_id == VAULT


def test_keyvault_error_takes_the_inner_code() -> None:
    body = {"error": {"code": "Forbidden", "message": "Client address is not authorized.\r\nVault: kv",
                      "innererror": {"code": "ForbiddenByFirewall"}}}

    failure = keyvault_error(LIST_CERTIFICATES, 403, body, VAULT)

    assert (failure.code, failure.kind, failure.status) == ("ForbiddenByFirewall", "access-denied", 403)
    assert failure.message == "Client address is not authorized. Vault: kv"


# The envelope document ----------------------------------------------------------------------------------

def test_certificate_document_from_cli_show_item() -> None:
    policy = {"x509CertificateProperties": {"validityInMonths": 12}}
    item: dict[str, Any] = {
        "id": "https://kv-app.vault.azure.net/certificates/web-tls/0123456789abcdef",
        "attributes": {"enabled": True, "notBefore": "2026-01-01T00:00:00+00:00",
                       "expires": "2027-01-01T00:00:00+00:00"},
        "x509Thumbprint": "fLi3U52HunIVNXubkEnf8tP6Wbo", "tags": None, "policy": policy}

    document = certificate_document(item, VAULT, "westeurope", policy=policy)

    assert document["id"] == f"{VAULT}/certificates/web-tls"
    assert document["properties"]["certificateUri"] == "https://kv-app.vault.azure.net/certificates/web-tls"
    assert document["properties"]["policy"] == {"x509CertificateProperties": {"validityInMonths": 12}}
    assert document["tags"] == {}


@pytest.mark.parametrize(("uri", "expected"), [
    ("https://kv.vault.azure.net/certificates/web", ("https://kv.vault.azure.net", "web")),
    ("https://kv.vault.azure.net:443/certificates/web/abc", ("https://kv.vault.azure.net:443", "web")),
    ("https://kv.vault.azure.net/keys/web", None),
    ("https://kv.vault.azure.net/certificates/web/abc/policy", None),
    ("http://kv.vault.azure.net/certificates/web", None),
    ("/subscriptions/x/certificates/web", None),
])
def test_split_certificate_uri(uri: str, expected: tuple[str, str] | None) -> None:
    assert split_certificate_uri(uri) == expected


# The validity check -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("policy", "attributes", "matched"), [
    ({"x509_props": {"validity_months": 13}}, None, True),
    ({"x509_props": {"validity_months": 12}}, {"nbf": JAN_2026, "exp": JAN_2028}, False),
    ({"x509_props": {"subject": "CN=x"}}, {"nbf": JAN_2026, "exp": JAN_2028}, True),
    (None, {"notBefore": "2026-01-01T00:00:00Z", "expires": "2027-01-02T00:00:00Z"}, False),
    (None, {"notBefore": "2026-01-01T00:00:00Z", "expires": "2027-01-03T00:00:00Z"}, True),
    ({"x509_props": {"validity_months": True}}, None, None),
    ({"x509_props": {"validity_months": 0}}, None, None),
    ("a policy", None, None),
    (None, None, None),
    (None, {"nbf": JAN_2027, "exp": JAN_2026}, None),
    (None, {"nbf": True, "exp": JAN_2026}, None),
    (None, {"notBefore": "2026-01-01T00:00:00", "expires": "2027-01-01T00:00:00"}, None),
    (None, {"enabled": True}, None),
])
def test_validity_check(policy: Any, attributes: Any, matched: bool | None) -> None:
    outcome = certificate_validity_exceeds(policy, attributes)

    assert outcome.matched is matched, outcome.detail
    assert outcome.detail


@pytest.mark.parametrize(("policy", "attributes", "detail"), [
    # A list-only export has no policy: the detail states it and gives the span in whole days.
    (None, {"nbf": JAN_2026, "exp": JAN_2028},
     "the collected data holds no certificate policy (a list-only export has none), so the validity comes "
     "from the current version's notBefore and expiry: 730 day(s); at most 366 are allowed"),
    ({"x509_props": {"subject": "CN=x"}}, {"nbf": JAN_2026, "exp": JAN_2027},
     "the certificate policy sets no validity, so the validity comes from the current version's notBefore "
     "and expiry: 365 day(s); at most 366 are allowed"),
    # One second over the bound reads as one day too many, in agreement with the FAIL.
    (None, {"nbf": JAN_2026, "exp": JAN_2026 + 366 * 86_400 + 1},
     "the collected data holds no certificate policy (a list-only export has none), so the validity comes "
     "from the current version's notBefore and expiry: 367 day(s); at most 366 are allowed"),
])
def test_validity_detail_without_policy_validity(policy: Any, attributes: Any, detail: str) -> None:
    assert certificate_validity_exceeds(policy, attributes).detail == detail


def test_remediation_command_names_the_vault(rule: Rule, tmp_path: Path) -> None:
    # The command takes the vault from the certificate's id; run it with `az` replaced by a function
    # that prints its arguments.
    certificate_id = f"{VAULT}/certificates/web-tls"
    command = fill_template(rule.remediation.cli, {key: shlex.quote(value) for key, value in
                                                   {"id": certificate_id, "name": "web-tls"}.items()})
    script = tmp_path / "run.sh"
    script.write_text("az() { printf '%s\\n' \"$@\"; }\n" + command + "\n", encoding="utf-8")

    printed = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=True).stdout.splitlines()

    assert printed[:7] == ["keyvault", "certificate", "set-attributes", "--vault-name", "kv-app", "--name", "web-tls"]


# Imports ------------------------------------------------------------------------------------------------

VAULT_DOCUMENT = {"id": VAULT, "name": "kv-app", "type": "Microsoft.KeyVault/vaults", "location": "westeurope",
                  "properties": {"tenantId": TENANT, "vaultUri": "https://kv-app.vault.azure.net/",
                                 "enableRbacAuthorization": True}}


def cli_item(name: str, expires: str, *, vault_host: str = "kv-app.vault.azure.net",
             policy: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return an item of `az keyvault certificate list` (or `show`, with a policy)."""
    item: dict[str, Any] = {
        "attributes": {"created": "2026-01-01T00:00:00+00:00", "enabled": True, "expires": expires,
                       "notBefore": "2026-01-01T00:00:00+00:00", "recoverableDays": 90,
                       "recoveryLevel": "Recoverable+Purgeable", "updated": "2026-01-01T00:00:00+00:00"},
        "id": f"https://{vault_host}/certificates/{name}", "name": name, "subject": "", "tags": None,
        "x509Thumbprint": "fLi3U52HunIVNXubkEnf8tP6Wbo",
        "x509ThumbprintHex": "7CB8B7539D87BA7215357B9B9049DFF2D3FA59BA"}
    if policy is not None:
        item["id"] += "/0123456789abcdef0123456789abcdef"
        item["policy"] = policy
    return item


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def judged(resources: list[Resource], rule: Rule) -> dict[str, Status]:
    coverage = [Coverage(provider="azure", account=SUB_A, region="global", service="keyvault")]
    return {finding.resource_id: finding.status for finding in Engine([rule]).evaluate(resources, coverage)
            if finding.rule_id == RULE_ID}


def test_cli_items_join_their_vault_from_another_file(tmp_path: Path, rule: Rule) -> None:
    # The certificates come first; their vault is in a later file.
    certificates = write_json(tmp_path / "certificates.json", [
        cli_item("one-year", "2027-01-01T00:00:00+00:00"),
        cli_item("two-years", "2028-01-01T00:00:00+00:00"),
        cli_item("shown", "2027-01-01T00:00:00+00:00",
                 policy={"x509CertificateProperties": {"validityInMonths": 36}}),
    ])
    vaults = write_json(tmp_path / "vaults.json", [VAULT_DOCUMENT])
    report = ImportReport()

    resources = list(iter_azure_resources([certificates, vaults], report))

    assert report.errors == []
    by_name = {resource.name: resource for resource in resources if resource.type == CERTIFICATE_TYPE}
    assert set(by_name) == {"one-year", "two-years", "shown"}
    shown = by_name["shown"]
    assert (shown.id, shown.account, shown.region) == (f"{VAULT}/certificates/shown", SUB_A, "westeurope")
    assert shown.source == f"file:{certificates}"
    assert judged(resources, rule) == {f"{VAULT}/certificates/one-year": Status.PASS,
                                       f"{VAULT}/certificates/two-years": Status.FAIL,
                                       f"{VAULT}/certificates/shown": Status.FAIL}


def test_cli_items_file_detected_as_azure(tmp_path: Path) -> None:
    # `az keyvault certificate list > certificates.json`, imported beside the vault's own export.
    certificates = write_json(tmp_path / "certificates.json", [
        cli_item("two-years", "2028-01-01T00:00:00+00:00")])
    vaults = write_json(tmp_path / "vaults.json", [VAULT_DOCUMENT])

    result = import_files([certificates, vaults])

    assert result.report.errors == []
    assert [resource.name for collection in result.collections for resource in collection.resources
            if resource.type == CERTIFICATE_TYPE] == ["two-years"]


def test_cli_item_without_vault_errors(tmp_path: Path) -> None:
    path = write_json(tmp_path / "certificates.json", [
        VAULT_DOCUMENT, cli_item("elsewhere", "2027-01-01T00:00:00+00:00", vault_host="kv-other.vault.azure.net")])

    result = import_files([path])

    # The file is one line, so the importer reads it as JSON lines: "line 1, item 1".
    assert [(issue.file, issue.location) for issue in result.report.errors] == [(str(path), "line 1, item 1")]
    assert "https://kv-other.vault.azure.net/certificates/elsewhere" in result.report.errors[0].message
    assert "not judged" in result.report.errors[0].message
    assert not [resource for collection in result.collections for resource in collection.resources
                if resource.type == CERTIFICATE_TYPE]


def test_arm_shaped_certificate_is_imported(tmp_path: Path, rule: Rule) -> None:
    document = certificate_document(cli_item("web-tls", "2028-01-01T00:00:00+00:00"), VAULT, "westeurope")
    path = write_json(tmp_path / "export.json", [VAULT_DOCUMENT, document])

    result = import_files([path])

    assert result.report.errors == []
    (collection,) = result.collections
    certificate = next(resource for resource in collection.resources if resource.type == CERTIFICATE_TYPE)
    assert (certificate.id, certificate.account) == (f"{VAULT}/certificates/web-tls", SUB_A)
    assert judged(collection.resources, rule) == {certificate.id: Status.FAIL}


def test_import_without_certificates_reports_them_unknown(tmp_path: Path, rule: Rule) -> None:
    path = write_json(tmp_path / "export.json", [VAULT_DOCUMENT])

    (collection,) = import_files([path]).collections

    findings = Engine([rule]).evaluate(collection.resources, collection.coverage)
    assert [(finding.status, finding.resource_id) for finding in findings] == [(Status.ERROR, f"azure:{SUB_A}")]
    assert "not in the imported files" in findings[0].message


def test_streamed_cli_items_match_whole_import(tmp_path: Path, rule: Rule) -> None:
    vault_row = copy.deepcopy(VAULT_DOCUMENT)
    path = write_json(tmp_path / "export.json", [
        vault_row, cli_item("two-years", "2028-01-01T00:00:00+00:00"),
        cli_item("one-year", "2027-01-01T00:00:00+00:00")])
    engine = Engine([rule])

    streamed = import_and_evaluate([path], engine)
    whole = import_files([path])

    assert streamed.streamed == {"azure": True}
    streamed_statuses = {finding.resource_id: finding.status for finding in streamed.findings["azure"]}
    (collection,) = whole.collections
    whole_statuses = {finding.resource_id: finding.status
                      for finding in engine.evaluate(collection.resources, collection.coverage)}
    assert streamed_statuses == whole_statuses == {f"{VAULT}/certificates/two-years": Status.FAIL,
                                                   f"{VAULT}/certificates/one-year": Status.PASS}
