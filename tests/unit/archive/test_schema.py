"""containai.archive.schema: the export manifest, its JSON form and what it refuses."""

from __future__ import annotations

import dataclasses
import json
import tarfile
from typing import Any

import pytest

from containai.archive.schema import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_NAME,
    ExportManifest,
    ManifestError,
    ManifestFile,
    manifest_tarinfo,
)
from tests.support.params import cases
from tests.unit.archive.builders import (
    good_manifest_document,
    manifest_doc,
    sha,
)

# --------------------------------------------------------------------------- manifest format


def test_manifest_round_trips() -> None:
    manifest = manifest_doc({"a/b.txt": b"hello", "ünï.txt": b"x"})

    assert ExportManifest.from_json(manifest.to_json()) == manifest


def test_manifest_json_is_sorted_and_compact() -> None:
    data = manifest_doc({"z": b"z", "a": b"a"}).to_json()
    document = json.loads(data)

    assert data.decode() == json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n"
    assert document["format"] == FORMAT
    assert document["format_version"] == FORMAT_VERSION
    assert document["volume"] == {"name": "containai-data", "labels": {"app": "containai"}}
    assert document["options"] == {"excludes": True, "secrets": False}
    assert document["files"]["a"] == {
        "size": 1,
        "sha256": sha(b"a"),
        "secret": False,
        "mode": 0o644,
    }


def test_manifest_is_immutable() -> None:
    files = {"a": ManifestFile(1, sha(b"a"), secret=False, mode=0o644)}
    manifest = dataclasses.replace(manifest_doc({}), files=files)
    files["b"] = files["a"]

    assert list(manifest.files) == ["a"]  # a copy was taken
    with pytest.raises(TypeError):
        manifest.files["b"] = files["a"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        manifest.created = "now"  # type: ignore[misc]


def _file_entry(**changes: Any) -> dict[str, Any]:
    return {"size": 1, "sha256": sha(b"a"), "secret": False, "mode": 0o644, **changes}


@pytest.mark.parametrize(
    ("document", "detail"),
    cases(
        {
            "not-an-object": ([], "the manifest must be a JSON object"),
            "no-format": (good_manifest_document(format=None), "format is None"),
            "bool-version": (good_manifest_document(format_version=True), "format_version True"),
            "float-version": (good_manifest_document(format_version=1.0), "format_version 1.0"),
            "tool-version": (
                good_manifest_document(tool_version=1),
                "tool_version must be a string",
            ),
            "created": (good_manifest_document(created="yesterday"), "created is not an ISO-8601"),
            "volume": (good_manifest_document(volume="v"), "volume must be a JSON object"),
            "label-value": (
                good_manifest_document(volume={"name": "v", "labels": {"k": 1}}),
                "volume.labels['k'] must be a string",
            ),
            "option": (
                good_manifest_document(options={"excludes": 1, "secrets": True}),
                "options.excludes",
            ),
            "files-list": (good_manifest_document(files=[]), "files must be a JSON object"),
            "bool-size": (
                good_manifest_document(files={"a": _file_entry(size=True)}),
                "files['a'].size must be a non-negative integer",
            ),
            "negative-size": (
                good_manifest_document(files={"a": _file_entry(size=-1)}),
                "files['a'].size must be a non-negative integer",
            ),
            "bad-sha": (
                good_manifest_document(files={"a": _file_entry(sha256="ABC")}),
                "files['a'].sha256 must be 64 lowercase hex digits",
            ),
            "mode": (
                good_manifest_document(files={"a": _file_entry(mode=0o10000)}),
                "files['a'].mode must be at most 0o7777",
            ),
            "secret": (
                good_manifest_document(files={"a": _file_entry(secret="no")}),
                "files['a'].secret must be true or false",
            ),
            "unsafe-name": (
                good_manifest_document(files={"../etc/passwd": _file_entry()}),
                "files['../etc/passwd']: name has a '..' component",
            ),
            "unnormalised-name": (
                good_manifest_document(files={"./a": _file_entry()}),
                "files['./a']: name has an empty or '.' component",
            ),
            "lists-itself": (
                good_manifest_document(files={MANIFEST_NAME: _file_entry()}),
                "cannot list itself",
            ),
        }
    ),
)
def test_invalid_manifests_are_refused(document: object, detail: str) -> None:
    with pytest.raises(ManifestError) as caught:
        ExportManifest.from_json(json.dumps(document).encode())

    assert detail in caught.value.detail
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(b"[" * 100_000, id="deeply-nested"),
        pytest.param(b'{"files": {}, "files": {}}', id="duplicate-key"),
    ],
)
def test_unparseable_manifests_are_refused(data: bytes) -> None:
    with pytest.raises(ManifestError):
        ExportManifest.from_json(data)


def test_manifest_tarinfo_is_a_plain_readable_file() -> None:
    data = manifest_doc({}).to_json()

    info = manifest_tarinfo(data, mtime=1234.5, uid=1000, gid=1001)

    assert (info.name, info.type, info.size, info.mode) == (
        MANIFEST_NAME,
        tarfile.REGTYPE,
        len(data),
        0o644,
    )
    assert (info.mtime, info.uid, info.gid) == (1234.5, 1000, 1001)
