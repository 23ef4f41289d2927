"""Local EFS: each file system is a directory under ``.state/efs/<fs-id>/`` that outlives functions.

What EFS does for Lambda and what is reproduced here:
- An access point exposes ``root_directory.path`` of its file system as the mount's root. If that
  directory is missing, EFS creates it with ``creation_info`` (owner uid/gid, permissions); with no
  creation info, mounting fails (``EFSMountFailureException``). Same here.
- The access point's POSIX user is enforced for every NFS operation, so files created through it
  are owned by that uid/gid. Locally the function's container simply runs as that uid/gid (the
  runtime does that), which gives the same ownership on disk.
- Data lives as long as the file system: redeploying a function never touches it; when the file
  system disappears from the Terraform state, its directory is deleted (``reconcile``). Only file
  systems once seen in a state are deleted that way (they are listed in ``known.json``): one that
  moto created a moment ago, during an apply whose state is not written yet, is left alone.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from harness.localcloud.deployed import AccessPoint
from harness.localcloud.errors import EfsMountError

log = logging.getLogger(__name__)

_FS_ID = re.compile(r"^fs-[0-9a-zA-Z]+$")


class EfsStore:
    """The directories that stand in for EFS file systems."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def file_system_dir(self, fs_id: str) -> Path:
        """The root of file system ``fs_id`` (created on first use, like a new, empty EFS)."""
        if not _FS_ID.match(fs_id):
            raise EfsMountError(f"{fs_id!r} is not an EFS file system id")
        path = self.root / fs_id
        if not path.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o755)
        return path

    def access_point_dir(self, access_point: AccessPoint) -> Path:
        """The host directory an access point exposes, created with its creation info if missing."""
        relative = posixpath.normpath("/" + access_point.root_path.strip()).lstrip("/")
        if relative.startswith(".."):
            raise EfsMountError(f"access point {access_point.id}: bad root path {access_point.root_path!r}")
        base = self.file_system_dir(access_point.file_system_id)
        target = base / relative if relative not in ("", ".") else base
        if target.is_dir():
            return target
        creation = access_point.creation
        if creation is None:
            raise EfsMountError(
                f"access point {access_point.id}: root directory {access_point.root_path} does not exist "
                "and the access point has no creation_info, so EFS cannot create it"
            )
        mode = int(creation.permissions, 8)
        current = base
        for part in Path(relative).parts:
            current = current / part
            if current.is_dir():
                continue
            current.mkdir()
            owned = _chown(current, creation.owner_uid, creation.owner_gid)
            current.chmod(mode if owned else 0o777)
        log.info(
            "EFS %s: created %s for access point %s (owner %s:%s, mode %s)",
            access_point.file_system_id,
            access_point.root_path,
            access_point.id,
            creation.owner_uid,
            creation.owner_gid,
            creation.permissions,
        )
        return target

    def reconcile(self, live_ids: Iterable[str]) -> list[str]:
        """Delete the data of file systems that were in a state and are not any more; return their ids."""
        live = set(live_ids)
        known_path = self.root / "known.json"
        try:
            known = set(json.loads(known_path.read_text()))
        except (OSError, ValueError):
            known = set()
        removed: list[str] = []
        for fs_id in sorted(known - live):
            path = self.root / fs_id
            if _FS_ID.match(fs_id) and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(fs_id)
                log.info("EFS %s is no longer in any Terraform state: deleted its data", fs_id)
        if known != live:
            self.root.mkdir(parents=True, exist_ok=True)
            partial = known_path.with_suffix(".partial")
            partial.write_text(json.dumps(sorted(live)))
            partial.replace(known_path)
        return removed


def _chown(path: Path, uid: int, gid: int) -> bool:
    """Give the directory to the access point's owner; False without root (the caller opens it up)."""
    try:
        os.chown(path, uid, gid)
    except PermissionError:
        log.warning("cannot chown %s to %s:%s without root; making it world-writable instead", path, uid, gid)
        return False
    return True
