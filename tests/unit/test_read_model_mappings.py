"""Read-model mappings index what the queries use and keep the rest in `_source` only."""

from __future__ import annotations

from typing import Any

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
