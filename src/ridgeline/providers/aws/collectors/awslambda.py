"""Lambda: functions with their resource-based policy and their function URLs.

Functions become `AWS::Lambda::Function` configuration items: `configuration` is the ListFunctions item
in AWS Config's camelCase, `supplementaryConfiguration.Policy` the function policy as a JSON string (None
when the function has none), and `supplementaryConfiguration.FunctionUrlConfigs` the function URLs of the
function and of its aliases. Environment variables stay under `configuration.environment.variables`,
where `ridgeline.model.redaction` replaces their values before anything is stored.

The module is not called lambda.py because `lambda` is a Python keyword.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ridgeline.model.resource import Resource
from ridgeline.providers.aws.calls import CallFailed, api_calls
from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.shape import config_shape
from ridgeline.providers.aws.unit import UnitContext

FUNCTION = "AWS::Lambda::Function"

CALLS = api_calls(
    "lambda",
    "ListFunctions",
    "GetFunctionConfiguration",
    "GetPolicy",
    "ListAliases",
    "GetFunctionUrlConfig",
    "ListTags",
)


def collect(unit: UnitContext) -> None:
    """Collect every function of the region with its policy, function URLs and tags."""
    client = unit.client("lambda")
    try:
        functions = unit.paginate(client, "ListFunctions", "Functions")
    except CallFailed as failure:
        unit.fail_type(FUNCTION, failure)
        return

    for resource in unit.map(lambda function: _collect_function(unit, function), functions):
        unit.add(resource)


def refresh(unit: UnitContext, targets: Mapping[str, Sequence[str]]) -> None:
    """Re-collect the named functions of the region (name or ARN)."""
    wanted = list(dict.fromkeys(targets.get(FUNCTION, ())))
    if "*" in wanted:
        collect(unit)
        return

    client = unit.client("lambda")
    for name in dict.fromkeys(unqualified(item) for item in wanted):
        # NOTE: GetFunctionConfiguration returns the fields of a ListFunctions item and may add a few
        # (such as State), which `ridgeline diff` then shows as added against a full scan.
        function = unit.call(client, "GetFunctionConfiguration", missing=("ResourceNotFoundException",),
                             resource_id=name, FunctionName=name)
        if function is None:
            function_arn = name if name.startswith("arn:") else (
                f"arn:{unit.partition}:lambda:{unit.region}:{unit.account}:function:{name}")
            unit.mark_gone(FUNCTION, function_arn)
            continue
        unit.add(_collect_function(unit, function))


def unqualified(function: str) -> str:
    """Return a function name or ARN without its version or alias ("api:prod" gives "api")."""
    parts = function.split(":")
    if function.startswith("arn:") and len(parts) == 8:
        return ":".join(parts[:7])
    if not function.startswith("arn:") and len(parts) == 2:
        return parts[0]
    return function


def _collect_function(unit: UnitContext, function: dict[str, Any]) -> Resource:
    resource = unit.new_resource(
        FUNCTION, function["FunctionArn"], function["FunctionName"],
        configuration=function_configuration(function), relationships=function_relationships(function),
    )

    client = unit.client("lambda")
    for path, reader in _DETAILS:
        try:
            reader(unit, client, resource)
        except CallFailed as failure:
            failure.resource_id = resource.id
            unit.detail_failed(resource, path, failure)
    return resource


def function_configuration(function: dict[str, Any]) -> dict[str, Any]:
    """Turn one ListFunctions item into AWS Config's configuration of `AWS::Lambda::Function`."""
    configuration: dict[str, Any] = config_shape({key: value for key, value in function.items()
                                                  if key != "Environment"})
    environment = function.get("Environment")
    if environment is not None:
        # Variable names are the user's own, so they keep their spelling while AWS's field names are lowered.
        configuration["environment"] = {
            "variables": dict(environment.get("Variables") or {}),
            "error": config_shape(environment.get("Error")),
        }
    return configuration


def function_relationships(function: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the execution role, security groups and subnets, as AWS Config relates them."""
    relationships: list[dict[str, Any]] = []
    role = function.get("Role")
    if role:
        relationships.append({"resourceType": "AWS::IAM::Role", "resourceName": role.rsplit("/", 1)[-1],
                              "relationshipName": "Is associated with "})
    vpc = function.get("VpcConfig") or {}
    for group in vpc.get("SecurityGroupIds") or []:
        relationships.append({"resourceType": "AWS::EC2::SecurityGroup", "resourceId": group,
                              "relationshipName": "Is associated with "})
    for subnet in vpc.get("SubnetIds") or []:
        relationships.append({"resourceType": "AWS::EC2::Subnet", "resourceId": subnet,
                              "relationshipName": "Is contained in "})
    return relationships


def _read_policy(unit: UnitContext, client: Any, resource: Resource) -> None:
    # ResourceNotFoundException means the function has no policy (or was deleted since the listing).
    # NOTE: policies of aliases and published versions are separate documents and are not read.
    response = unit.call(client, "GetPolicy", missing=("ResourceNotFoundException",), FunctionName=resource.name)
    resource.supplementary["Policy"] = response.get("Policy") if response else None


def _read_url_configs(unit: UnitContext, client: Any, resource: Resource) -> None:
    # A function URL belongs to the unpublished function or to one alias. ListFunctionUrlConfigs would
    # return them all in one call, but moto 5.2, which runs the tests and the demo, does not implement
    # it. Listing the aliases and reading the URL of each finds the same URLs.
    aliases = unit.paginate(client, "ListAliases", "Aliases", FunctionName=resource.name)
    qualifiers: list[str | None] = [None, *(str(alias["Name"]) for alias in aliases)]

    configs = []
    for qualifier in qualifiers:
        parameters = {"FunctionName": resource.name}
        if qualifier is not None:
            parameters["Qualifier"] = qualifier
        response = unit.call(client, "GetFunctionUrlConfig", missing=("ResourceNotFoundException",), **parameters)
        if response is not None:
            configs.append(config_shape(response))
    resource.supplementary["FunctionUrlConfigs"] = configs


def _read_tags(unit: UnitContext, client: Any, resource: Resource) -> None:
    response = unit.call(client, "ListTags", Resource=resource.id) or {}
    resource.tags = {str(key): str(value) for key, value in (response.get("Tags") or {}).items()}


# (envelope path that becomes unknown when the call fails, reader)
_DETAILS: tuple[tuple[str, Callable[[UnitContext, Any, Resource], None]], ...] = (
    ("supplementaryConfiguration.Policy", _read_policy),
    ("supplementaryConfiguration.FunctionUrlConfigs", _read_url_configs),
    ("tags", _read_tags),
)

COLLECTOR = CollectorSpec(
    service="lambda",
    global_service=False,
    calls=CALLS,
    resource_types=(FUNCTION,),
    collect=collect,
    description="Lambda functions with their function policy and function URLs",
)
