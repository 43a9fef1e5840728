"""Where uploaded files live: one small interface, on the local disk or in an object store.

`FIELDSVC_STORAGE=local` (default) keeps files under the instance folder: right for one
app server. With several, `FIELDSVC_STORAGE=s3` puts them in an S3-compatible bucket
(boto3), so a photo taken through one server is served by any other. The database keeps
only the key, the size, the type and the digest; keys are the content's SHA-256 either way.
"""

from __future__ import annotations

import hashlib
import io
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
        _check_key(key)
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


def _check_key(key: str) -> str:
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError("not a storage key")
    return key


class S3Storage:
    """Content-addressed objects in an S3 bucket: <prefix><sha256>.

    A put of bytes already stored writes the same object again (same key, same content),
    so a retried upload is harmless; S3 writes are atomic per object.
    """

    def __init__(self, client, bucket: str, prefix: str = "") -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    @classmethod
    def from_config(cls, config) -> S3Storage:
        import boto3
        from botocore.config import Config

        if not config.get("S3_BUCKET"):
            raise RuntimeError("FIELDSVC_STORAGE=s3 needs FIELDSVC_S3_BUCKET.")
        client = boto3.client(
            "s3", endpoint_url=config.get("S3_ENDPOINT_URL") or None,
            region_name=config.get("S3_REGION") or None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"},
                          connect_timeout=5, read_timeout=30))
        return cls(client, config["S3_BUCKET"], config.get("S3_PREFIX", ""))

    def _name(self, key: str) -> str:
        return self.prefix + _check_key(key)

    def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data)
        return key

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise FileNotFoundError(key) from exc
            raise
        with body:
            return io.BytesIO(body.read())

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ValueError:
            return False
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        try:
            name = self._name(key)
        except ValueError:
            return
        self.client.delete_object(Bucket=self.bucket, Key=name)


_EXTENSION = "fieldsvc_storage"


def storage_for(app) -> Storage:
    """The app's storage: `MOBILE_STORAGE` if given, else the one FIELDSVC_STORAGE names
    (built once per app: an S3 client is costly to make)."""
    configured = app.config.get("MOBILE_STORAGE")
    if configured is not None:
        return configured
    kind = app.config.get("STORAGE", "local")
    if kind == "s3":
        cached = app.extensions.get(_EXTENSION)
        if cached is None:
            cached = app.extensions[_EXTENSION] = S3Storage.from_config(app.config)
        return cached
    if kind != "local":
        raise RuntimeError(f"FIELDSVC_STORAGE={kind!r}: use local or s3.")
    root = app.config.get("MOBILE_UPLOAD_DIR") or os.path.join(app.instance_path, "uploads")
    return FilesystemStorage(root)
