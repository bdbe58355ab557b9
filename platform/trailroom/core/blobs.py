"""Blob storage for input images and results: one small async interface, a local filesystem default.

Keys are relative, `/`-separated paths such as `inputs/<job>/person.png`: segments of
`[A-Za-z0-9._-]` that do not start with a dot (so no `.`, `..` or hidden names), no leading or
trailing `/`, at most 512 characters. An S3-compatible or GridFS store implements the same
`BlobStore` protocol with the same keys.

`LocalBlobStore` keeps each blob as the file `<root>/<key>`, so the tree can be inspected, backed up
and served as it is. Writes go to a hidden temporary file in the same folder (names starting with a
dot can never be keys), are flushed to disk and then renamed over the key with `os.replace`: a
reader sees the old bytes or the new ones, never a mix, and a crash leaves at most a stray
temporary file. The content type is not stored beside the file: it is derived from the key's
extension (`content_type_for`), and `put` refuses a content type that contradicts the extension,
so what a reader derives is always what the writer meant. Name keys with their extension
(`person.png`, `result.jpg`); keys without a known extension read back as
`application/octet-stream`. All file I/O runs on worker threads, off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

from trailroom.core.errors import NotFound

MAX_KEY_LENGTH = 512
_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9._-]*"
_KEY = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
_PREFIX = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*/?")

_CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "json": "application/json",
    "txt": "text/plain",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"


class InvalidBlobKey(ValueError):
    """A key that is not a plain relative path of allowed characters (a bug in the caller)."""


def check_key(key: str) -> str:
    if len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise InvalidBlobKey(f"invalid blob key {key!r}: use relative paths of [A-Za-z0-9._-] segments")
    return key


def check_prefix(prefix: str) -> str:
    if len(prefix) > MAX_KEY_LENGTH or not _PREFIX.fullmatch(prefix):
        raise InvalidBlobKey(f"invalid blob prefix {prefix!r}: use a non-empty relative path")
    return prefix


def content_type_for(key: str) -> str:
    """The content type a key's extension stands for."""
    name = check_key(key).rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _CONTENT_TYPES.get(extension, DEFAULT_CONTENT_TYPE)


@runtime_checkable
class BlobStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`, replacing what was there, atomically."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes under `key`; `NotFound` when there are none."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove `key`; False when it was not there."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every key that starts with `prefix` (a string prefix, as in S3: end it with `/` to
        mean one folder); the number removed."""
        ...

    async def exists(self, key: str) -> bool: ...


class LocalBlobStore:
    """Blobs as files under `root` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_of(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    # -- the protocol ----------------------------------------------------------------------------

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self.path_of(key)
        expected = content_type_for(key)
        given = content_type.split(";", 1)[0].strip().lower()
        if expected != DEFAULT_CONTENT_TYPE and given != expected:
            raise ValueError(f"blob {key!r} is named as {expected} but the content type given is {content_type!r}")
        await asyncio.to_thread(self._write, path, data)

    async def get(self, key: str) -> bytes:
        path = self.path_of(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound(f"No stored file {key!r}.", code="blob_not_found") from exc

    async def delete(self, key: str) -> bool:
        return await asyncio.to_thread(self._delete, self.path_of(key))

    async def delete_prefix(self, prefix: str) -> int:
        return await asyncio.to_thread(self._delete_prefix, check_prefix(prefix))

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_of(key).is_file)

    # -- file work (on worker threads) -----------------------------------------------------------

    def _write(self, path: Path, data: bytes) -> None:
        for attempt in range(5):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
                break
            except FileNotFoundError:
                # A concurrent delete pruned the (then empty) folder between the two calls: again.
                if attempt == 4:
                    raise
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._sync_dir(path.parent)

    @staticmethod
    def _sync_dir(folder: Path) -> None:
        """Make the rename itself durable (best effort: not every filesystem allows it)."""
        try:
            descriptor = os.open(folder, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(descriptor)
        except OSError:
            pass
        finally:
            os.close(descriptor)

    def _delete(self, path: Path) -> bool:
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return False
        self._prune_empty(path.parent)
        return True

    def _delete_prefix(self, prefix: str) -> int:
        # Walk only the deepest folder the prefix fully names; keys are matched as strings under it.
        folder_key = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root.joinpath(*folder_key.split("/")) if folder_key else self.root
        if not start.is_dir():
            return 0
        removed = 0
        for current, folders, files in os.walk(start, topdown=False):
            current_path = Path(current)
            for name in files:
                if name.startswith("."):
                    continue  # a temporary file of a write in progress, not a key
                key = current_path.joinpath(name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    try:
                        current_path.joinpath(name).unlink()
                    except FileNotFoundError:
                        continue
                    removed += 1
            for name in folders:
                folder = current_path / name
                key = folder.relative_to(self.root).as_posix() + "/"
                if key.startswith(prefix):
                    self._remove_if_empty(folder)
        if start != self.root:
            self._prune_empty(start)
        return removed

    @staticmethod
    def _remove_if_empty(folder: Path) -> None:
        with contextlib.suppress(OSError):  # not empty (or already gone)
            folder.rmdir()

    def _prune_empty(self, folder: Path) -> None:
        """Remove now-empty folders from `folder` up to, never including, the root."""
        root = self.root
        while folder != root and root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent
