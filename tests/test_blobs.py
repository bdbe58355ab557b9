"""The local blob store: key validation, atomic writes, deletes by key and by prefix, NotFound."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from trailroom.core.blobs import BlobStore, InvalidBlobKey, LocalBlobStore, content_type_for
from trailroom.core.errors import NotFound

MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def clean_state() -> None:
    """These tests use no database or Redis: replace the suite's per-test cleanup with nothing."""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture
def store(root: Path) -> LocalBlobStore:
    return LocalBlobStore(root)


def files_under(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


async def test_put_get_exists_round_trip(store: LocalBlobStore, root: Path) -> None:
    assert isinstance(store, BlobStore)
    assert not await store.exists("inputs/job1/person.png")

    await store.put("inputs/job1/person.png", b"\x89PNG fake", "image/png")

    assert await store.get("inputs/job1/person.png") == b"\x89PNG fake"
    assert await store.exists("inputs/job1/person.png")
    assert (root / "inputs" / "job1" / "person.png").read_bytes() == b"\x89PNG fake"
    assert store.path_of("inputs/job1/person.png") == root / "inputs" / "job1" / "person.png"
    assert files_under(root) == ["inputs/job1/person.png"]  # no sidecar, no temporary file left


async def test_missing_blob_is_not_found(store: LocalBlobStore) -> None:
    with pytest.raises(NotFound) as caught:
        await store.get("results/nope/0.png")
    assert caught.value.code == "blob_not_found"
    await store.put("results/job/0.png", b"x", "image/png")
    for not_a_blob in ("results", "results/job", "results/job/0.png/inner.png"):
        with pytest.raises(NotFound):
            await store.get(not_a_blob)
        assert not await store.exists(not_a_blob)


BAD_KEYS = [
    "",
    "/etc/passwd",
    "../outside.png",
    "inputs/../../outside.png",
    "inputs/..",
    "..",
    ".",
    "inputs/./person.png",
    "inputs//person.png",
    "inputs/",
    "/inputs/person.png",
    ".hidden.png",
    "inputs/.person.png.abc.tmp",
    "inputs\\..\\outside.png",
    "inputs/per son.png",
    "inputs/pérson.png",
    "inputs/person.png\x00.txt",
    "inputs/person.png\n",
    "C:/windows.png",
    "~/home.png",
    "a" * 513,
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_keys_are_refused_everywhere(store: LocalBlobStore, root: Path, key: str) -> None:
    with pytest.raises(InvalidBlobKey):
        await store.put(key, b"payload", "image/png")
    with pytest.raises(InvalidBlobKey):
        await store.get(key)
    with pytest.raises(InvalidBlobKey):
        await store.delete(key)
    with pytest.raises(InvalidBlobKey):
        await store.exists(key)
    assert not root.parent.joinpath("outside.png").exists()
    assert not root.exists()  # nothing was written anywhere


@pytest.mark.parametrize("prefix", ["", "/", "/inputs/", "../", "inputs/../", "..", "inputs//", ".tmp", "in puts/"])
async def test_bad_prefixes_are_refused(store: LocalBlobStore, prefix: str) -> None:
    await store.put("inputs/job/person.png", b"x", "image/png")
    with pytest.raises(InvalidBlobKey):
        await store.delete_prefix(prefix)
    assert await store.exists("inputs/job/person.png")


async def test_put_replaces_atomically(store: LocalBlobStore, root: Path) -> None:
    key = "results/job/0.png"
    payloads = [bytes([n]) * (2 * MIB) for n in range(8)]
    await store.put(key, payloads[0], "image/png")
    seen: list[bytes] = []
    writing = True

    async def read_while_writing() -> None:
        while writing:
            seen.append(await store.get(key))

    readers = [asyncio.create_task(read_while_writing()) for _ in range(3)]
    try:
        for _ in range(3):
            await asyncio.gather(*(store.put(key, payload, "image/png") for payload in payloads))
    finally:
        writing = False
        await asyncio.gather(*readers)

    assert len(seen) > 3
    # Every read saw one whole version: never an empty, partial or mixed file.
    assert all(blob in payloads for blob in seen)
    assert await store.get(key) in payloads
    assert files_under(root) == [key]


async def test_a_failed_write_keeps_the_old_blob_and_leaves_no_temporary_file(
    store: LocalBlobStore, root: Path
) -> None:
    await store.put("results/job/0.png", b"old", "image/png")
    with pytest.raises(TypeError):
        await store.put("results/job/0.png", "not bytes", "image/png")  # type: ignore[arg-type]
    assert await store.get("results/job/0.png") == b"old"
    assert os.listdir(root / "results" / "job") == ["0.png"]


async def test_delete_removes_one_blob_and_its_empty_folders(store: LocalBlobStore, root: Path) -> None:
    await store.put("inputs/job1/person.png", b"p", "image/png")
    await store.put("inputs/job2/person.png", b"q", "image/png")

    assert await store.delete("inputs/job1/person.png") is True
    assert await store.delete("inputs/job1/person.png") is False
    assert await store.delete("never/was.png") is False

    assert not await store.exists("inputs/job1/person.png")
    assert await store.get("inputs/job2/person.png") == b"q"
    assert not (root / "inputs" / "job1").exists()
    assert (root / "inputs").is_dir()
    assert await store.delete("inputs/job2/person.png") is True
    assert root.is_dir()  # the root itself stays
    assert list(root.iterdir()) == []


async def test_delete_prefix_removes_a_folder_of_blobs(store: LocalBlobStore, root: Path) -> None:
    for key in (
        "inputs/job1/person.png",
        "inputs/job1/garment.jpg",
        "inputs/job1/extra/bottom.png",
        "inputs/job10/person.png",
        "inputs/job2/person.png",
        "results/job1/0.png",
    ):
        await store.put(key, key.encode(), content_type_for(key))

    assert await store.delete_prefix("inputs/job1/") == 3

    assert files_under(root) == ["inputs/job10/person.png", "inputs/job2/person.png", "results/job1/0.png"]
    assert not (root / "inputs" / "job1").exists()
    assert await store.delete_prefix("inputs/job1/") == 0
    assert await store.delete_prefix("nothing/here/") == 0


async def test_delete_prefix_matches_keys_as_strings_like_s3(store: LocalBlobStore, root: Path) -> None:
    for key in ("inputs/job1/a.png", "inputs/job10/a.png", "inputs/job2/a.png", "inputs-old/a.png"):
        await store.put(key, b"x", "image/png")

    assert await store.delete_prefix("inputs/job1") == 2  # job1/ and job10/

    assert files_under(root) == ["inputs-old/a.png", "inputs/job2/a.png"]
    assert await store.delete_prefix("inputs") == 2  # inputs/ and inputs-old/
    assert files_under(root) == []
    assert root.is_dir()


async def test_delete_prefix_leaves_writes_in_progress_alone(store: LocalBlobStore, root: Path) -> None:
    await store.put("inputs/job1/person.png", b"p", "image/png")
    in_progress = root / "inputs" / "job1" / ".garment.png.abc123.tmp"
    in_progress.write_bytes(b"half")

    assert await store.delete_prefix("inputs/job1/") == 1
    assert in_progress.exists()


async def test_content_type_follows_the_extension(store: LocalBlobStore) -> None:
    assert content_type_for("inputs/j/person.png") == "image/png"
    assert content_type_for("inputs/j/person.JPG") == "image/jpeg"
    assert content_type_for("results/j/0.jpeg") == "image/jpeg"
    assert content_type_for("results/j/0.webp") == "image/webp"
    assert content_type_for("results/j/meta.json") == "application/json"
    assert content_type_for("results/j/raw") == "application/octet-stream"

    await store.put("inputs/j/person.png", b"x", "image/png; charset=binary")
    await store.put("results/j/raw", b"x", "image/png")  # no extension: any type, read as octet-stream
    with pytest.raises(ValueError, match="image/png"):
        await store.put("inputs/j/garment.png", b"x", "image/jpeg")
    assert not await store.exists("inputs/j/garment.png")


async def test_file_io_runs_off_the_event_loop(store: LocalBlobStore) -> None:
    payload = os.urandom(64 * MIB)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.005)
    try:
        ticks = 0
        await store.put("results/big/0.png", payload, "image/png")
        ticks_during_put = ticks
        ticks = 0
        assert await store.get("results/big/0.png") == payload
        ticks_during_get = ticks
    finally:
        task.cancel()
    # The loop kept running while the 64 MiB were written (and fsynced) and read on worker threads.
    assert ticks_during_put >= 2
    assert ticks_during_get >= 1
