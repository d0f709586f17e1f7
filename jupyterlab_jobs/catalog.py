"""The catalog: groups, instance types, images and datasets an administrator configured.

Entries are validated with pydantic when the server starts, so a typo in the config is a
clear start-up error instead of a failing job later.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"

_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGTPE]i?|k)?\s*$")
_FACTORS = {
    None: 1,
    "k": 10**3,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def parse_memory(value: str | int | float) -> int:
    """Bytes in a Kubernetes-style memory quantity: ``"512Mi"``, ``"2Gi"``, ``"1G"``, 1024."""
    if isinstance(value, bool):
        raise ValueError("memory must be a quantity such as '2Gi'")
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError("memory must be positive")
        return int(value)
    match = _QUANTITY.match(value)
    if not match:
        raise ValueError(f"memory {value!r} is not a quantity such as '512Mi' or '2Gi'")
    number = float(match.group(1)) * _FACTORS[match.group(2)]
    if number <= 0:
        raise ValueError("memory must be positive")
    return int(number)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    display_name: str = ""
    description: str = ""

    @model_validator(mode="after")
    def _default_display_name(self) -> _Entry:
        if not self.display_name:
            object.__setattr__(self, "display_name", self.name)
        return self


class InstanceType(_Entry):
    """A resource preset: CPUs, memory and GPUs a job may use."""

    cpu: float = Field(default=1.0, gt=0, le=1024)
    memory: str = "1Gi"
    gpu: int = Field(default=0, ge=0, le=64)
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("memory", mode="before")
    @classmethod
    def _check_memory(cls, value: Any) -> str:
        parse_memory(value)
        return str(value)

    @property
    def memory_bytes(self) -> int:
        return parse_memory(self.memory)

    @property
    def cpu_slots(self) -> int:
        """Whole CPUs the job is pinned to on the local backend."""
        return max(1, math.ceil(self.cpu))


class Image(_Entry):
    """An execution environment.

    Locally it is a Python/conda prefix whose ``bin`` goes first on PATH (empty: the
    server's own environment); on Kubernetes it names the container image.
    """

    prefix: str = ""
    container_image: str = ""
    gpu_container_image: str = ""
    pull_secret: str = ""


class Dataset(_Entry):
    """A dataset mounted read-only at ``<home>/datasets/<name>``."""

    path: str = ""
    pvc: str = ""
    host_path: str = ""


class Group(_Entry):
    """A team: who may use it and which instance types, images and datasets it allows."""

    instance_types: list[str] = Field(default_factory=list)
    images: list[str] = Field(default_factory=list)
    datasets: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)


class Catalog(BaseModel):
    """Everything an administrator configured, cross-checked for dangling names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    groups: list[Group] = Field(default_factory=list)
    instance_types: list[InstanceType] = Field(default_factory=list)
    images: list[Image] = Field(default_factory=list)
    datasets: list[Dataset] = Field(default_factory=list)
    # True for the personal default offered when nothing is configured (default_setup.py).
    default_setup: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.groups or self.instance_types or self.images or self.datasets)

    @model_validator(mode="after")
    def _check_references(self) -> Catalog:
        for kind in ("groups", "instance_types", "images", "datasets"):
            entries = [entry.name for entry in getattr(self, kind)]
            duplicates = sorted({n for n in entries if entries.count(n) > 1})
            if duplicates:
                raise ValueError(f"{kind}: duplicate names {duplicates}")
        known = {
            "instance_types": {i.name for i in self.instance_types},
            "images": {i.name for i in self.images},
            "datasets": {d.name for d in self.datasets},
        }
        for group in self.groups:
            for kind, names in known.items():
                missing = sorted(set(getattr(group, kind)) - names)
                if missing:
                    raise ValueError(f"group {group.name!r}: unknown {kind} {missing}")
        return self

    def group(self, name: str) -> Group | None:
        return next((g for g in self.groups if g.name == name), None)

    def instance_type(self, name: str) -> InstanceType | None:
        return next((i for i in self.instance_types if i.name == name), None)

    def image(self, name: str) -> Image | None:
        return next((i for i in self.images if i.name == name), None)

    def dataset(self, name: str) -> Dataset | None:
        return next((d for d in self.datasets if d.name == name), None)

    @classmethod
    def load(
        cls,
        *,
        groups: list[dict[str, Any]],
        instance_types: list[dict[str, Any]],
        images: list[dict[str, Any]],
        datasets: list[dict[str, Any]],
        catalog_file: str = "",
    ) -> Catalog:
        """Build the catalog from config lists, extended by a YAML/JSON ``catalog_file``."""
        data: dict[str, list[dict[str, Any]]] = {
            "groups": list(groups),
            "instance_types": list(instance_types),
            "images": list(images),
            "datasets": list(datasets),
        }
        if catalog_file:
            text = Path(catalog_file).read_text(encoding="utf-8")
            loaded = json.loads(text) if catalog_file.endswith(".json") else yaml.safe_load(text)
            if not isinstance(loaded, dict):
                raise ValueError(f"{catalog_file}: expected a mapping of catalog lists")
            for key, value in loaded.items():
                if key not in data:
                    raise ValueError(f"{catalog_file}: unknown section {key!r}")
                data[key].extend(value or [])
        return cls.model_validate(data)
