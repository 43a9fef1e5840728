"""Where uploaded files live: one small interface, a filesystem implementation.

An object store (S3 and the like) fits the same four methods; the database keeps only
the key, the size, the type and the digest.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol


class Storage(Protocol):
    def put(self, data: bytes) -> str:
        """Store `data`; return its key."""

    def open(self, key: str) -> BinaryIO:
        """Open a stored object for reading."""

    def exists(self, key: str) -> bool:
        """True when an object is stored under `key`."""

    def delete(self, key: str) -> None:
        """Remove the object stored under `key`, if any."""


class FilesystemStorage:
    """Content-addressed files under a root folder: <root>/ab/cd/<sha256>.

    Writing is atomic (temporary file, then rename), and the same bytes land on the same
    key, so a retried upload or a rolled-back transaction leaves no half file and no
    duplicate.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError("not a storage key")
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).exists()
        except ValueError:
            return False

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except ValueError:
            return


def storage_for(app) -> Storage:
    """The app's storage: `MOBILE_STORAGE` if configured, else files in the instance folder."""
    configured = app.config.get("MOBILE_STORAGE")
    if configured is not None:
        return configured
    root = app.config.get("MOBILE_UPLOAD_DIR") or os.path.join(app.instance_path, "uploads")
    return FilesystemStorage(root)
