"""Builders of export archives for the tests of containai.archive: members of every kind,
manifests, and the .tgz files that hold them (hostile ones included: nothing is checked)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from containai.archive.schema import MANIFEST_NAME, ExportManifest, ManifestFile, manifest_tarinfo
from tests.support.tars import Member, header, tar_bytes

LIMIT = 64 * 1024 * 1024


MiB = 1024 * 1024


def reg(name: str, data: bytes = b"", mode: int = 0o644) -> Member:
    return header(name, tarfile.REGTYPE, size=len(data), mode=mode), data


def folder(name: str) -> Member:
    return header(name, tarfile.DIRTYPE, mode=0o755), None


def sym(name: str, target: str) -> Member:
    return header(name, tarfile.SYMTYPE, linkname=target, mode=0o777), None


def hard(name: str, target: str) -> Member:
    return header(name, tarfile.LNKTYPE, linkname=target), None


def node(name: str, kind: bytes) -> Member:
    return header(name, kind, devmajor=1, devminor=3), None


def raw_member(name: str, kind: bytes, data: bytes) -> Member:
    """Any header type with a payload, e.g. a hand-made PAX extension header."""
    return header(name, kind, size=len(data)), data


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_doc(files: dict[str, bytes]) -> ExportManifest:
    return ExportManifest(
        tool_version="0.1.0",
        created="2026-01-02T03:04:05Z",
        volume_name="containai-data",
        volume_labels={"app": "containai"},
        excludes=True,
        secrets=False,
        files={n: ManifestFile(len(d), sha(d), secret=False, mode=0o644) for n, d in files.items()},
    )


def manifest_member(data: bytes) -> Member:
    return manifest_tarinfo(data, mtime=1_700_000_000, uid=1000, gid=1000), data


def regular_contents(members: Sequence[Member]) -> dict[str, bytes]:
    """What the exporter would list: every regular file, by normalised name."""
    return {
        info.name.removeprefix("./"): data or b""
        for info, data in members
        if info.type == tarfile.REGTYPE and info.name != MANIFEST_NAME
    }


def with_manifest(members: Sequence[Member]) -> list[Member]:
    return [*members, manifest_member(manifest_doc(regular_contents(members)).to_json())]


def write_tgz(path: Path, members: Sequence[Member]) -> None:
    path.write_bytes(gzip.compress(tar_bytes(members)))


def good_manifest_document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(manifest_doc({"a.txt": b"a"}).to_json())
    document.update(changes)
    return document


def write_latin1_tgz(path: Path, members: Sequence[Member]) -> None:
    """A .tgz whose names are latin-1 bytes (GNU format: no PAX record turns them into UTF-8)."""
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT, encoding="latin-1"
    ) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data or b""))
    path.write_bytes(gzip.compress(buffer.getvalue()))
