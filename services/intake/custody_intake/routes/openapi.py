"""Documenting raw-body routes: their request schemas go into the OpenAPI components, so the
served spec (and schemathesis) knows the body each route takes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

REF = "#/components/schemas/{model}"


def json_body(model: str, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` for a route whose JSON body is the component `model`."""
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}},
        }
    }


SchemaOf = Callable[[str], dict[str, Any]]  # a schema built by hand, given the $ref template


def of(model: type[BaseModel]) -> SchemaOf:
    """A model's own schema, in the form `install` takes."""
    return lambda ref: model.model_json_schema(ref_template=ref, by_alias=True)


def install(app: FastAPI, bodies: dict[str, SchemaOf]) -> None:
    """Serve an OpenAPI spec that includes the raw-body routes' request schemas, each under
    the component name its route's `json_body` refers to."""

    def spec() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = document.setdefault("components", {}).setdefault("schemas", {})
            for name, model in bodies.items():
                schema = model(REF)
                components.update(schema.pop("$defs", {}))
                components[name] = schema
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = spec  # type: ignore[method-assign]  # FastAPI's documented override
