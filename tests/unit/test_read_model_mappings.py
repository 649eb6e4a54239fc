"""Read-model mappings index what the queries use and keep the rest in `_source` only."""

from __future__ import annotations

from typing import Any

from bench.load.mapping_cost import full_body, lean_body
from system.readstore.mappings import FRESHNESS, READ_MODELS, SEARCHED, read_model_body


def _indexed(mapping: dict[str, Any]) -> bool:
    if "properties" in mapping:
        return any(_indexed(sub) for sub in mapping["properties"].values())
    return bool(mapping.get("index", True))


def test_every_searched_field_is_a_field_of_its_read_model() -> None:
    assert set(SEARCHED) == set(READ_MODELS)
    for name, fields in SEARCHED.items():
        unknown = fields - set(READ_MODELS[name])
        assert not unknown, f"{name}: {sorted(unknown)}"


def test_only_searched_fields_and_freshness_are_indexed() -> None:
    for name in READ_MODELS:
        properties = read_model_body(name)["mappings"]["properties"]
        indexed = {field for field, mapping in properties.items() if _indexed(mapping)}
        assert indexed == SEARCHED[name] | set(FRESHNESS), name
        for field in set(properties) - indexed:
            assert properties[field].get("doc_values") is not True
            assert "fields" not in properties[field], f"{name}.{field} keeps a sub-field"


def test_a_source_only_field_keeps_its_type_and_subfields() -> None:
    properties = read_model_body("order_status")["mappings"]["properties"]
    assert properties["placed_at"] == {"type": "date", "index": False, "doc_values": False}
    assert properties["customer_name"] == {"type": "text", "index": False}
    assert properties["items"]["properties"]["quantity"]["type"] == "integer"
    assert read_model_body("order_status")["mappings"]["dynamic"] == "strict"


def test_the_mapping_cost_tool_compares_every_field_against_searched_only() -> None:
    for name in READ_MODELS:
        full = full_body(name)["mappings"]["properties"]
        lean = lean_body(name)["mappings"]["properties"]
        assert set(full) == set(lean) == set(READ_MODELS[name]) | set(FRESHNESS)
        assert all(_indexed(mapping) for mapping in full.values()), name
        assert full_body(name)["settings"] == lean_body(name)["settings"]
    assert lean_body("order_status") == read_model_body("order_status", "-1")
