"""Base class of the generated pydantic models (by hookwire.codegen.models)."""

from pydantic import BaseModel, ConfigDict


class ProtoModel(BaseModel):
    """bytes fields travel as base64 in JSON, as in the proto3 JSON mapping."""

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")
