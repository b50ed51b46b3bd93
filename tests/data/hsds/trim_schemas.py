"""Copy Open Referral's published HSDS 3.0 schemas into this folder, trimmed.

Run from a git mirror of github.com/openreferral/specification (branch 3.0)::

    python tests/data/hsds/trim_schemas.py /path/to/specification.git [COMMIT]

Trimming drops only the ``description`` and ``example`` annotation keys (never a property
that happens to be called ``description``); every type, format, ``datapackage_type``,
required list, enum, ``$ref`` and definition is kept as published. The script refuses to
write when ``service_with_definitions.json`` with its ``$ref`` written out in full is not
exactly ``service.json`` (both trimmed), so the small file stands for the large one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ANNOTATIONS = {"description", "example"}


def trim(node: Any) -> Any:
    """The schema without its ``description``/``example`` annotations."""
    if isinstance(node, list):
        return [trim(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":  # names of fields, not keywords: keep every one
            out[key] = {name: trim(field) for name, field in value.items()}
        elif key not in ANNOTATIONS:
            out[key] = trim(value)
    return out


def inline(node: Any, definitions: dict[str, Any]) -> Any:
    """``#/definitions/x`` references written out in full (the compiled service.json)."""
    if isinstance(node, list):
        return [inline(x, definitions) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = definitions[node["$ref"].rsplit("/", 1)[1]]
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return {**inline(target, definitions), **inline(rest, definitions)}
    return {k: inline(v, definitions) for k, v in node.items()}


def main(repo: str, commit: str = "HEAD") -> None:
    def show(path: str) -> Any:
        text = subprocess.run(
            ["git", "-C", repo, "show", f"{commit}:{path}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return json.loads(text)

    full = trim(show("schema/compiled/service.json"))
    with_definitions = trim(show("schema/compiled/service_with_definitions.json"))
    definitions = with_definitions["definitions"]
    body = {k: v for k, v in with_definitions.items() if k != "definitions"}
    if inline(body, definitions) != full:
        sys.exit("service_with_definitions.json is not service.json with its $ref inlined")
    openapi = show("schema/openapi.json")
    response = openapi["paths"]["/services"]["get"]["responses"]["200"]
    services = response["content"]["application/json"]["schema"]
    # The part of openapi.json that says what GET /services returns, at the same JSON
    # pointers, so that its "#/components/schemas/Page" resolves as published.
    excerpt = {
        "openapi": openapi["openapi"],
        "paths": {
            "/services": {
                "get": {
                    "responses": {
                        "200": {"content": {"application/json": {"schema": trim(services)}}}
                    }
                }
            }
        },
        "components": {"schemas": {"Page": trim(openapi["components"]["schemas"]["Page"])}},
    }
    outputs = {
        "service_with_definitions.json": with_definitions,
        "service_list.json": trim(show("schema/compiled/service_list.json")),
        "openapi_services.json": excerpt,
    }
    outputs["example_service_full.json"] = show("examples/service_full.json")  # verbatim
    for name, schema in outputs.items():
        text = json.dumps(schema, ensure_ascii=False, indent=1) + "\n"
        (HERE / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:3])
