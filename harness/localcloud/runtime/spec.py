"""What the runtime needs to know about a function: a plain, hashable description.

The runtime never reads Terraform state; the gateway turns a deployed function into a
``FunctionSpec``. Its ``config_hash`` covers everything that shapes an execution environment
(image, command, environment, memory, timeout, /tmp size, mounts, user): when it changes, new
requests get new environments and the old ones are drained, as after a Lambda update.
Reserved concurrency is left out of the hash: changing it does not recycle environments in AWS.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class MountSpec:
    source: str
    target: str
    read_only: bool = True  # EFS without elasticfilesystem:ClientWrite (specs decides)


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    arn: str
    image: str
    command: tuple[str, ...] = ()
    entry_point: tuple[str, ...] = ()
    working_directory: str = ""
    environment: tuple[tuple[str, str], ...] = ()
    memory_mb: int = 128
    timeout_s: int = 3
    ephemeral_mb: int = 512
    user: str = "993:990"
    mounts: tuple[MountSpec, ...] = ()
    reserved_concurrency: int | None = None
    source: str = field(default="terraform-state", compare=False)

    @property
    def config_hash(self) -> str:
        identity = {
            "image": self.image,
            "command": self.command,
            "entry_point": self.entry_point,
            "working_directory": self.working_directory,
            "environment": sorted(self.environment),
            "memory_mb": self.memory_mb,
            "timeout_s": self.timeout_s,
            "ephemeral_mb": self.ephemeral_mb,
            "user": self.user,
            "mounts": [(m.source, m.target, m.read_only) for m in self.mounts],
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
