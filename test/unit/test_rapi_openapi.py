"""The published OpenAPI document: valid OpenAPI 3.1, and the same table that routes."""

from __future__ import annotations

import openapi_spec_validator as validator

from ganeti.rapi import openapi, resources


def test_document_is_valid_openapi():
    doc = openapi.generate(resources.RESOURCES)
    validator.validate(doc)          # raises with the offending part of the document


def test_every_route_and_method_is_described():
    doc = openapi.generate(resources.RESOURCES)
    for res in resources.RESOURCES:
        assert res.path in doc["paths"], res.path
        described = {m.upper() for m in doc["paths"][res.path]}
        assert set(res.methods) <= described, res.path
