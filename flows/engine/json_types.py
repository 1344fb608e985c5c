"""The type of JSON data whose shape the caller chooses: metadata, scripted callees, payloads
as read back from the store. pydantic's ``JsonValue`` checks it is JSON and nothing more."""

from __future__ import annotations

from pydantic import JsonValue

JsonObject = dict[str, JsonValue]

__all__ = ["JsonObject", "JsonValue"]
