"""Secrets in the shapes that providers give them never reach storage, on the import and on the live path.

Each case is a leak that an adversarial import found: a provider-shaped item whose secret values carry the
marker SEKRET. The import path reads the item from a file. The live path runs the function that the
provider's live scanner calls: `redact` for every AWS collector, `redact_azure` after `envelope`, and
`resources_from_assets` for the GCP scan. Values that rules read, and the names of variables, stay.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ridgeline.imports import iter_aws_config_items
from ridgeline.imports.azure_arm import iter_azure_resources
from ridgeline.imports.gcp_cai import iter_gcp_cai_assets, resources_from_assets
from ridgeline.model.redaction import REDACTED, redact
from ridgeline.model.resource import Resource
from ridgeline.providers.azure.envelope import envelope, redact_azure

MARKER = "SEKRET"


def _leaks(resource: Resource) -> list[str]:
    """Return the parts of `resource` whose text still contains a marker."""
    document = resource.to_dict()
    return [part for part in ("configuration", "supplementary", "tags")
            if MARKER in json.dumps(document.get(part), ensure_ascii=False)]


# GCP: Cloud Asset Inventory assets --------------------------------------------------------------------------

PROJECT = "//cloudresourcemanager.googleapis.com/projects/100000000001"

GCP_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "instance-metadata-scripts": ("compute.googleapis.com/Instance", {
        "name": "vm1",
        "metadata": {"items": [
            {"key": "startup-script", "value": "#!/bin/bash\necho 'root:SEKRET30' | chpasswd"},
            {"key": "shutdown-script", "value": "SEKRET31"},
            {"key": "windows-startup-script-ps1", "value": "SEKRET32"},
            {"key": "windows-shutdown-script-cmd", "value": "SEKRET33"},
            {"key": "sysprep-specialize-script-ps1", "value": "SEKRET34"},
            {"key": "user-data", "value": "#cloud-config\npassword: SEKRET35"},
            {"key": "db-password", "value": "SEKRET36"},
            {"key": "serial-port-enable", "value": "true"},
            {"key": "block-project-ssh-keys", "value": "TRUE"},
            {"key": "ssh-keys", "value": "alice:ssh-ed25519 AAAAC3 alice"},
        ]}}),
    "function-environment": ("cloudfunctions.googleapis.com/CloudFunction", {
        "name": "projects/p1/locations/us-central1/functions/f1",
        "environmentVariables": {"DB_PASSWORD": "SEKRET37", "MODE": "SEKRET38"},
        "buildEnvironmentVariables": {"TOKEN": "SEKRET39"},
        "buildConfig": {"environmentVariables": {"NPM_TOKEN": "SEKRET40"}},
        "serviceConfig": {"environmentVariables": {"X": "SEKRET41"},
                          "secretEnvironmentVariables": [{"key": "API_KEY", "secret": "api-key", "version": "1"}]}}),
    "run-service-env": ("run.googleapis.com/Service", {
        "metadata": {"name": "r1"},
        "spec": {"template": {"spec": {"containers": [{"image": "gcr.io/p1/app", "env": [
            {"name": "DB_PASSWORD", "value": "SEKRET42"}, {"name": "MODE", "value": "SEKRET43"},
            {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "db", "key": "latest"}}}]}]}}}}),
    "sql-root-password": ("sqladmin.googleapis.com/Instance", {
        "name": "db1", "databaseVersion": "POSTGRES_14", "rootPassword": "SEKRET44",
        "settings": {"ipConfiguration": {"ipv4Enabled": False}, "userLabels": {"env": "prod"}}}),
    "app-engine-prefixed-keys": ("appengine.googleapis.com/Version", {
        "name": "apps/p1/services/default/versions/v1", "envVariables": {"A": "SEKRET45"},
        "handlers": [{"script": {"scriptPath": "auto"}, "apiKey": "SEKRET46", "DB_PASSWORD": "SEKRET47"}]}),
    "instance-metadata-url-key-labels": ("compute.googleapis.com/Instance", {
        "name": "vm2",
        "labels": {"pw": "SEKRET80", "secret-label": "SEKRET81", "credentials": "SEKRET82", "team": "web"},
        "metadata": {"items": [
            {"key": "my-config", "value": "mysql://root:SEKRET83@10.0.0.5/db"},
            {"key": "deploy-key", "value": "-----BEGIN OPENSSH PRIVATE KEY-----\nSEKRET84\n"
                                          "-----END OPENSSH PRIVATE KEY-----\n"},
            {"key": "ssh-keys", "value": "alice:ssh-ed25519 AAAAC3 alice@laptop"}]}}),
    "sql-user-labels": ("sqladmin.googleapis.com/Instance", {
        "name": "db2", "databaseVersion": "POSTGRES_15",
        "settings": {"userLabels": {"pw": "SEKRET85", "pwd": "SEKRET86", "secret-label": "SEKRET87", "team": "db"},
                     "databaseFlags": [{"name": "log_connections", "value": "off"}]}}),
}


def _gcp_asset(case: str) -> dict[str, Any]:
    asset_type, data = GCP_CASES[case]
    return {"name": f"//{asset_type.split('/')[0]}/projects/p1/things/{case}", "asset_type": asset_type,
            "ancestors": ["projects/100000000001"],
            "resource": {"version": "v1", "parent": PROJECT, "data": json.loads(json.dumps(data)),
                         "location": "us-central1"}}


def _gcp_import(tmp_path: Path, case: str) -> Resource:
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps(_gcp_asset(case)) + "\n", encoding="utf-8")
    (resource,) = list(iter_gcp_cai_assets(path))
    return resource


def _gcp_live(case: str) -> Resource:
    # The live scan passes ListAssets results, camelCase, to resources_from_assets.
    asset = _gcp_asset(case)
    asset["assetType"] = asset.pop("asset_type")
    (resource,) = list(resources_from_assets([asset], "live"))
    return resource


@pytest.mark.parametrize("case", sorted(GCP_CASES))
@pytest.mark.parametrize("path", ["import", "live"])
def test_gcp_secrets_redacted(tmp_path: Path, case: str, path: str) -> None:
    resource = _gcp_import(tmp_path, case) if path == "import" else _gcp_live(case)

    assert _leaks(resource) == []


@pytest.mark.parametrize("path", ["import", "live"])
def test_gcp_url_password_only_replaced(tmp_path: Path, path: str) -> None:
    resource = _gcp_import(tmp_path, "instance-metadata-url-key-labels") if path == "import" \
        else _gcp_live("instance-metadata-url-key-labels")

    items = {item["key"]: item["value"] for item in resource.configuration["metadata"]["items"]}
    assert items["my-config"] == f"mysql://root:{REDACTED}@10.0.0.5/db"
    assert items["deploy-key"] == REDACTED
    assert items["ssh-keys"] == "alice:ssh-ed25519 AAAAC3 alice@laptop"
    assert resource.configuration["labels"]["team"] == "web"
    assert resource.tags["team"] == "web"


@pytest.mark.parametrize("path", ["import", "live"])
def test_gcp_metadata_keeps_what_rules_read(tmp_path: Path, path: str) -> None:
    resource = _gcp_import(tmp_path, "instance-metadata-scripts") if path == "import" \
        else _gcp_live("instance-metadata-scripts")

    items = {item["key"]: item["value"] for item in resource.configuration["metadata"]["items"]}
    assert items["serial-port-enable"] == "true"
    assert items["block-project-ssh-keys"] == "TRUE"
    assert items["ssh-keys"] == "alice:ssh-ed25519 AAAAC3 alice"
    assert items["startup-script"] == REDACTED


def test_gcp_variable_names_kept(tmp_path: Path) -> None:
    resource = _gcp_import(tmp_path, "function-environment")

    assert resource.configuration["environmentVariables"] == {"DB_PASSWORD": REDACTED, "MODE": REDACTED}
    assert resource.configuration["serviceConfig"]["secretEnvironmentVariables"][0]["key"] == "API_KEY"


# AWS: AWS Config items and collector records ----------------------------------------------------------------

AWS_CASES: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
    "ecs-task-definition": ("AWS::ECS::TaskDefinition", {"family": "web", "containerDefinitions": [
        {"name": "c", "image": "nginx", "privileged": False,
         "environment": [{"name": "DB_PASSWORD", "value": "SEKRET50"}, {"name": "MODE", "value": "SEKRET51"}],
         "secrets": [{"name": "API_KEY", "valueFrom": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:k"}]}]},
        {}),
    "codebuild-plaintext": ("AWS::CodeBuild::Project", {"name": "build", "environment": {
        "type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "privilegedMode": True,
        "environmentVariables": [{"name": "GITHUB_TOKEN", "value": "SEKRET52", "type": "PLAINTEXT"},
                                 {"name": "REGION", "value": "SEKRET53", "type": "PLAINTEXT"}]}}, {}),
    "beanstalk-option-settings": ("AWS::ElasticBeanstalk::Environment", {"environmentName": "prod", "optionSettings": [
        {"namespace": "aws:elasticbeanstalk:application:environment", "optionName": "DATABASE_URL",
         "value": "SEKRET54"},
        {"namespace": "aws:rds:dbinstance", "optionName": "DBPassword", "value": "SEKRET55"},
        {"namespace": "aws:autoscaling:launchconfiguration", "optionName": "InstanceType", "value": "t3.micro"}]},
        {}),
    "secret-tag": ("AWS::S3::Bucket", {"name": "logs"}, {"Password": "SEKRET56", "db_token": "SEKRET57",
                                                           "team": "web"}),
    "prefixed-keys": ("AWS::RDS::DBInstance", {"dBInstanceIdentifier": "db", "settings": {
        "rootPassword": "SEKRET58", "DB_PASSWORD": "SEKRET59", "API_KEY": "SEKRET60", "x-api-key": "SEKRET61"}}, {}),
    "ssm-parameter": ("AWS::SSM::Parameter", {"name": "p1", "type": "String", "value": "SEKRET62"}, {}),
    "url-and-label-tags": ("AWS::S3::Bucket", {"name": "web"}, {
        "endpoint": "https://user:SEKRET63@example.com", "pw": "SEKRET64", "pwd": "SEKRET65",
        "credentials": "SEKRET66", "secret-label": "SEKRET67", "team": "web"}),
    "listed-tags-and-key": ("AWS::EC2::Instance", {
        "instanceId": "i-1", "tags": [{"key": "secret-label", "value": "SEKRET68"}, {"key": "team", "value": "web"}],
        "description": "-----BEGIN RSA PRIVATE KEY-----\nSEKRET69\n-----END RSA PRIVATE KEY-----"}, {}),
}

# The same settings as the AWS APIs return them to the collectors: Elastic Beanstalk returns them in PascalCase.
AWS_API_SHAPES: dict[str, dict[str, Any]] = {
    "beanstalk-option-settings": {"EnvironmentName": "prod", "OptionSettings": [
        {"Namespace": "aws:elasticbeanstalk:application:environment", "OptionName": "DATABASE_URL",
         "Value": "SEKRET54"},
        {"Namespace": "aws:autoscaling:launchconfiguration", "OptionName": "InstanceType", "Value": "t3.micro"}]},
    "ssm-parameter": {"Name": "p1", "Type": "String", "Value": "SEKRET62"},
}


def _aws_import(tmp_path: Path, case: str) -> Resource:
    type_name, configuration, tags = AWS_CASES[case]
    item = {"configurationItemVersion": "1.3", "configurationItemCaptureTime": "2024-05-01T10:00:00.000Z",
            "configurationItemStatus": "OK", "awsAccountId": "111122223333", "resourceType": type_name,
            "resourceId": case, "resourceName": case, "ARN": f"arn:aws:x:eu-west-1:111122223333:{case}",
            "awsRegion": "eu-west-1", "tags": tags, "relationships": [], "configuration": configuration,
            "supplementaryConfiguration": {}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"configurationItems": [item]}), encoding="utf-8")
    (resource,) = list(iter_aws_config_items(path))
    return resource


def _aws_live(case: str) -> Resource:
    type_name, configuration, tags = AWS_CASES[case]
    configuration = json.loads(json.dumps(AWS_API_SHAPES.get(case, configuration)))
    resource = Resource(provider="aws", account="111122223333", region="eu-west-1", type=type_name,
                        id=f"arn:aws:x:eu-west-1:111122223333:{case}", name=case, configuration=configuration,
                        tags=dict(tags))
    # What every collector's record goes through (ridgeline.providers.aws.unit).
    return redact(resource)


@pytest.mark.parametrize("case", sorted(AWS_CASES))
@pytest.mark.parametrize("path", ["import", "live"])
def test_aws_secrets_redacted(tmp_path: Path, case: str, path: str) -> None:
    resource = _aws_import(tmp_path, case) if path == "import" else _aws_live(case)

    assert _leaks(resource) == []


def test_aws_settings_and_names_kept(tmp_path: Path) -> None:
    task = _aws_import(tmp_path, "ecs-task-definition").configuration["containerDefinitions"][0]
    project = _aws_import(tmp_path, "codebuild-plaintext").configuration["environment"]
    beanstalk = _aws_import(tmp_path, "beanstalk-option-settings").configuration["optionSettings"]
    bucket = _aws_import(tmp_path, "secret-tag")

    assert task["environment"] == [{"name": "DB_PASSWORD", "value": REDACTED}, {"name": "MODE", "value": REDACTED}]
    assert task["secrets"][0]["valueFrom"].startswith("arn:aws:secretsmanager:")
    assert task["privileged"] is False
    assert project["privilegedMode"] is True
    assert project["type"] == "LINUX_CONTAINER"
    assert project["environmentVariables"][0] == {"name": "GITHUB_TOKEN", "value": REDACTED, "type": "PLAINTEXT"}
    # Settings outside the environment properties are not secret unless named so.
    assert beanstalk[2]["value"] == "t3.micro"
    assert bucket.tags == {"Password": REDACTED, "db_token": REDACTED, "team": "web"}
    tagged = _aws_import(tmp_path, "url-and-label-tags")
    assert tagged.tags["endpoint"] == f"https://user:{REDACTED}@example.com"
    assert tagged.tags["team"] == "web"


# Azure: Resource Manager documents -------------------------------------------------------------------------

GROUP = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers"

AZURE_CASES: dict[str, dict[str, Any]] = {
    "vm-custom-data": {
        "id": f"{GROUP}/Microsoft.Compute/virtualMachines/vm1", "type": "Microsoft.Compute/virtualMachines",
        "location": "eastus", "properties": {
            "osProfile": {"computerName": "vm1", "adminUsername": "azureuser", "customData": "SEKRET01",
                          "linuxConfiguration": {"disablePasswordAuthentication": True}},
            "userData": "SEKRET02"}},
    "vm-extension-command": {
        "id": f"{GROUP}/Microsoft.Compute/virtualMachines/vm1/extensions/cse",
        "type": "Microsoft.Compute/virtualMachines/extensions", "location": "eastus", "properties": {
            "publisher": "Microsoft.Azure.Extensions", "type": "CustomScript",
            "settings": {"commandToExecute": "mysql -uroot -pSEKRET03", "fileUris": ["https://x/install.sh"],
                         "script": "SEKRET04"},
            "protectedSettings": {"commandToExecute": "SEKRET05", "storageAccountKey": "SEKRET06"}}},
    "container-group-env": {
        "id": f"{GROUP}/Microsoft.ContainerInstance/containerGroups/cg1",
        "type": "Microsoft.ContainerInstance/containerGroups", "location": "eastus", "properties": {
            "containers": [{"name": "c", "properties": {"image": "nginx", "environmentVariables": [
                {"name": "DB_PASSWORD", "value": "SEKRET07"}, {"name": "MODE", "value": "SEKRET08"},
                {"name": "X", "secureValue": "SEKRET09"}]}}],
            "ipAddress": {"type": "Public"}}},
    "logic-app-tokens": {
        "id": f"{GROUP}/Microsoft.Logic/workflows/lw", "type": "Microsoft.Logic/workflows", "location": "eastus",
        "properties": {
            "state": "Enabled",
            "parameters": {"$connections": {"value": {"x": {"token": "SEKRET10"}}}},
            "definition": {"actions": {
                "h": {"type": "Http", "inputs": {"method": "GET", "headers": {"Authorization": "Bearer SEKRET11"}}},
                "b": {"type": "Http", "inputs": {"headers": {"X-Auth": "Basic U0VLUkVUMTI6cGFzcw=="},
                                                 "uri": "https://api.example.com/x?token=SEKRET13"}},
                "c": {"type": "Http", "inputs": {"body": "curl -H 'Authorization: Bearer SEKRET14abc'"}}}}}},
    "automation-variable": {
        "id": f"{GROUP}/Microsoft.Automation/automationAccounts/aa/variables/v",
        "type": "Microsoft.Automation/automationAccounts/variables",
        "properties": {"value": "\"SEKRET15\"", "isEncrypted": False}},
    "tags-urls-and-key": {
        "id": f"{GROUP}/Microsoft.Storage/storageAccounts/st1", "type": "Microsoft.Storage/storageAccounts",
        "location": "eastus",
        "tags": {"db": "postgresql://u:SEKRET17@h/db", "cache": "redis://:SEKRET18@h:6379", "pwd": "SEKRET19",
                 "secret-label": "SEKRET20", "owner": "alice@example.com"},
        "properties": {"supportsHttpsTrafficOnly": True,
                       "note": "-----BEGIN EC PRIVATE KEY-----\nSEKRET21\n-----END EC PRIVATE KEY-----"}},
    "automation-variable-graph-row": {
        "id": f"{GROUP}/Microsoft.Automation/automationAccounts/aa/variables/w",
        "type": "microsoft.automation/automationaccounts/variables",
        "properties": {"value": "\"SEKRET16\"", "isEncrypted": False}},
}


def _azure_import(tmp_path: Path, case: str) -> Resource:
    document = {"name": case, **AZURE_CASES[case]}
    path = tmp_path / "arm.json"
    path.write_text(json.dumps([document]), encoding="utf-8")
    (resource,) = [item for item in iter_azure_resources(path) if item.id == document["id"]]
    return resource


def _azure_live(case: str) -> Resource:
    document = json.loads(json.dumps({"name": case, **AZURE_CASES[case]}))
    # What the live scanner does with every document it reads (ridgeline.providers.azure.scanner).
    return redact_azure(envelope(document, collected_at="2024-05-01T10:00:00Z"))


@pytest.mark.parametrize("case", sorted(AZURE_CASES))
@pytest.mark.parametrize("path", ["import", "live"])
def test_azure_secrets_redacted(tmp_path: Path, case: str, path: str) -> None:
    resource = _azure_import(tmp_path, case) if path == "import" else _azure_live(case)

    assert _leaks(resource) == []


@pytest.mark.parametrize("path", ["import", "live"])
def test_azure_settings_and_names_kept(tmp_path: Path, path: str) -> None:
    def read(case: str) -> dict[str, Any]:
        resource = _azure_import(tmp_path, case) if path == "import" else _azure_live(case)
        properties: dict[str, Any] = resource.configuration["properties"]
        return properties

    vm = read("vm-custom-data")
    extension = read("vm-extension-command")
    group = read("container-group-env")
    logic = read("logic-app-tokens")
    variable = read("automation-variable")

    assert vm["osProfile"]["adminUsername"] == "azureuser"
    assert vm["osProfile"]["linuxConfiguration"] == {"disablePasswordAuthentication": True}
    assert extension["type"] == "CustomScript"
    assert extension["settings"]["fileUris"] == ["https://x/install.sh"]
    assert extension["protectedSettings"] == REDACTED
    assert group["containers"][0]["properties"]["environmentVariables"][2] == {"name": "X", "secureValue": REDACTED}
    assert group["ipAddress"] == {"type": "Public"}
    assert logic["state"] == "Enabled"
    assert logic["definition"]["actions"]["h"]["inputs"]["method"] == "GET"
    assert variable["isEncrypted"] is False
    tagged = _azure_import(tmp_path, "tags-urls-and-key") if path == "import" else _azure_live("tags-urls-and-key")
    assert tagged.tags["db"] == f"postgresql://u:{REDACTED}@h/db"
    assert tagged.tags["owner"] == "alice@example.com"
    assert tagged.configuration["tags"] == tagged.tags
    assert tagged.configuration["properties"]["supportsHttpsTrafficOnly"] is True


# Text that carries credentials --------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "secret"), [
    ("Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc", True),
    ("bearer 0123456789abcdef", True),
    ("Basic dXNlcjpwYXNzd29yZA==", True),
    ("Basic U0VLUkVUOnBhc3M", True),
    ("Server=db;Password=pw", True),
    ("Basic tier", False),
    ("Bearer authentication is required", False),
    ("Basic authentication", False),
    ("prod", False),
])
def test_credential_text(text: str, secret: bool) -> None:
    resource = Resource(provider="aws", account="1", region="r", type="AWS::Custom::Thing", id="x", name="x",
                        configuration={"description": text, "list": [text]})

    redact(resource)

    expected = REDACTED if secret else text
    assert resource.configuration == {"description": expected, "list": [expected]}
