"""The DCI standard's JSON schemas, shipped with the package (schemas/social_api_v1.0.0.json, see
schemas/LICENSE-dci-standards.md), and validators of our messages against them (jsonschema_rs, Draft 4, which the
OpenAPI 3.0 schema objects follow; `$ref`s resolve inside the whole document, paths included)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema_rs

SPEC_FILE = Path(__file__).with_name("schemas") / "social_api_v1.0.0.json"

# JSON pointers of the request and response bodies of each path (the envelopes: signature, header, message).
_BODY = "#/paths/~1registry~1{path}/post/requestBody/content/application~1json/schema"
_RESPONSE = "#/paths/~1registry~1{path}/post/responses/default/content/application~1json/schema"
SYNC_SEARCH_REQUEST = _BODY.format(path="sync~1search")
SYNC_SEARCH_RESPONSE = _RESPONSE.format(path="sync~1search")
SYNC_STATUS_RESPONSE = _RESPONSE.format(path="sync~1txn~1status")
ON_SEARCH = _BODY.format(path="on-search")
ON_STATUS = _BODY.format(path="txn~1on-status")
ACK = "#/components/responses/Response/content/application~1json/schema"
HTTP_ERROR = "#/components/responses/HttpErrorResponse/content/application~1json/schema"


# A reference of the standard that points through another reference (JSON pointers cannot): the receipt
# beneficiaries of TxnStatusResponse. Repaired when loading, to the schema it means; the file is unchanged.
_BROKEN_REF = (
    "#/paths/~1registry~1txn~1on-status/post/requestBody/content/application~1json/schema/properties/message/"
    "oneOf/0/properties/txnstatus_response/example/properties/search_response/items/properties/data/properties/"
    "reg_records/items"
)
_REPAIRED_REF = (
    "#/components/schemas/TxnStatusResponse/properties/txnstatus_response/example/properties/search_response/"
    "items/properties/data/properties/reg_records/items"
)


def _repair(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (_REPAIRED_REF if k == "$ref" and v == _BROKEN_REF else _repair(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_repair(v) for v in node]
    return node


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    data: dict[str, Any] = _repair(json.loads(SPEC_FILE.read_text(encoding="utf-8")))
    return data


def enumeration(component: str) -> list[str]:
    """An enumeration of the standard, e.g. enumeration("SearchStatusReasonCode")."""
    schemas = spec()["components"]["schemas"]
    if component == "Error":
        return list(schemas["Error"]["properties"]["code"]["enum"])
    return list(schemas[component]["enum"])


@lru_cache(maxsize=32)
def validator(pointer: str) -> Any:
    doc = spec()
    return jsonschema_rs.Draft4Validator(
        {"allOf": [{"$ref": pointer}], "paths": doc["paths"], "components": doc["components"]}
    )


def errors(pointer: str, instance: Any) -> list[str]:
    """What in `instance` violates the schema at `pointer` (empty: it conforms)."""
    return [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator(pointer).iter_errors(instance)]
