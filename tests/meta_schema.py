"""Meta's OpenAPI description of the WhatsApp Cloud API, for tests that check shapes against it.

The file lives in ``../shared/reference/meta/`` beside the repository and is never
copied into the project; tests that need it skip, saying why, where it is absent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import jsonschema
import pytest
import yaml

META_SPEC: Final = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "reference"
    / "meta"
    / "business-messaging-api_v23.0.yaml"
)

#: Meta's button ``index`` pattern is a malformed character class that rejects "0", its own
#: example, though its description says 0-9; the check uses the range the description gives.
_BROKEN_INDEX_PATTERN: Final = "^[2-6, 11-14]$"


def _repair(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("pattern") == _BROKEN_INDEX_PATTERN:
            return {**node, "pattern": "^[0-9]$"}
        return {key: _repair(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_repair(item) for item in node]
    return node


def meta_spec() -> dict[str, Any]:
    """The whole OpenAPI document (skips the calling test when the file is not there)."""
    if not META_SPEC.is_file():
        pytest.skip(f"Meta's OpenAPI description is not at {META_SPEC} (shared/ not checked out)")
    with META_SPEC.open(encoding="utf-8") as handle:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        spec: dict[str, Any] = _repair(yaml.load(handle, Loader=loader))
    return spec


def schema_problems(schemas: dict[str, Any], name: str, instance: object) -> list[str]:
    """Where ``instance`` breaks schema ``name``, honouring OpenAPI discriminators.

    Plain JSON Schema ignores ``discriminator``, which would leave every template
    parameter checked only for having a ``type``; here the mapped schema is
    checked too (minus the base that holds the discriminator, to avoid a loop).
    """

    def discriminator(
        validator: Any, spec: Mapping[str, Any], item: object, _schema: object
    ) -> Iterator[jsonschema.ValidationError]:
        if not isinstance(item, dict):
            return
        target = spec.get("mapping", {}).get(item.get(spec["propertyName"]))
        if target is None:
            return
        mapped = schemas[target.rsplit("/", 1)[1]]
        for part in mapped.get("allOf", [mapped]):
            ref = part.get("$ref")
            if ref is not None and schemas[ref.rsplit("/", 1)[1]].get("discriminator") is spec:
                continue
            yield from validator.descend(item, part)

    checker = jsonschema.validators.extend(
        jsonschema.Draft202012Validator, {"discriminator": discriminator}
    )
    root = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": schemas}}
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in checker(root).iter_errors(instance)
    ]
