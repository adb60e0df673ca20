"""Issue 19: the engine facade gives the same answers on Docker and Podman (engine/flavour.py
lists where the engines differ underneath). Every test is ``core``: scripts/test runs them on
each engine."""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from containai.engine import Engine, HelperSpec
from containai.engine.locks import lock_name
from containai.errors import EngineError
from tests.support.engine import TEST_IMAGE, put_archive
from tests.support.engines import engine_name

pytestmark = [pytest.mark.engine, pytest.mark.core]

GO_DIR, GO_SYMLINK = 1 << 31, 1 << 27
SPEC = HelperSpec(
    image="cai-test/helper",
    mount="/data",
    command=["/containai-helper-is-never-started"],
    user="1000:1000",
    mount_uid=1000,
    mount_gid=1000,
    mount_mode=0o700,
)


def tar_of(*members: tuple[str, str, str]) -> bytes:
    """(name, kind, content or link target) members, mtime 2023-11-14, owned by 1000."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, kind, value in members:
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid = 1700000000, 1000, 1000
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o750
                tar.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, value
                tar.addfile(info)
            else:
                info.size, info.mode = len(value), 0o640
                tar.addfile(info, io.BytesIO(value.encode()))
    return buffer.getvalue()


@pytest.fixture
def engine(docker_client: Any) -> Iterator[Engine]:
    found = Engine.connect()
    yield found
    found.close()


@pytest.fixture
def filled(docker_client: Any, new_volume: Any) -> str:
    """A volume holding a file, a directory, symlinks to both, and a dangling symlink."""
    volume = str(new_volume("facade"))
    docker_client.volumes.create(volume)
    members = [("f", "file", "abc"), ("d", "dir", ""), ("d/g", "file", "xy")]
    members += [("s", "symlink", "f"), ("sd", "symlink", "d"), ("dang", "symlink", "nowhere")]
    put_archive(docker_client, volume, tar_of(*members))
    return volume


def names_in(stream: Any) -> list[tuple[str, str]]:
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream)), mode="r|") as tar:
        return [(info.name.rstrip("/"), info.linkname) for info in tar]


def test_stat_and_download_describe_each_path_as_docker_does(engine: Engine, filled: str) -> None:
    with engine.helper(filled, SPEC) as helper:
        stats = {path: helper.stat(path) for path in ("f", "d", "s", "sd", "missing", "f/below")}
        got = {path: helper.get_if_present(path) for path in ("f", "s", "sd", "f/below")}
        shown = {path: names_in(stream) if stream else None for path, stream in got.items()}

    assert set(stats["f"] or {}) == {"name", "size", "mode", "mtime", "linkTarget"}
    assert stats["f"] == {
        "name": "f",
        "size": 3,
        "mode": 0o640,
        "mtime": "2023-11-14T22:13:20Z",
        "linkTarget": "",
    }
    assert (stats["d"] or {})["mode"] == GO_DIR | 0o750
    for link, target in (("s", "/data/f"), ("sd", "/data/d")):
        found = stats[link] or {}
        assert (found["mode"], found["linkTarget"]) == (GO_SYMLINK | 0o777, target), link
    assert stats["missing"] is None and stats["f/below"] is None
    assert shown == {"f": [("f", "")], "s": [("s", "f")], "sd": [("sd", "d")], "f/below": None}


def test_a_dangling_symlink_is_seen_where_the_engine_sees_it(engine: Engine, filled: str) -> None:
    with engine.helper(filled, SPEC) as helper:
        found = helper.stat("dang")
    if engine.flavour.follows_symlinks:  # Podman resolves it, finds nothing: documented gap
        assert found is None
    else:
        assert found is not None and found["mode"] == GO_SYMLINK | 0o777


def test_a_new_volume_belongs_to_the_agent_and_a_read_only_helper_writes_nothing(
    engine: Engine, docker_client: Any, new_volume: Any
) -> None:
    volume = str(new_volume("root"))
    engine.create_volume(volume, {})
    with (
        engine.helper(volume, SPEC, read_only=True) as helper,
        pytest.raises(EngineError, match="read-only"),
    ):
        helper.put([tar_of(("x", "file", "x"))])
    with engine.helper(volume, SPEC):
        pass
    shown = docker_client.containers.run(
        TEST_IMAGE,
        ["sh", "-c", "stat -c '%u:%g %a' /v; ls -A /v"],
        volumes={volume: {"bind": "/v", "mode": "ro"}},
        network_mode="none",
        remove=True,
    )
    assert shown.decode() == "1000:1000 700\n"


def test_the_generated_helper_image_carries_its_tag(engine: Engine, docker_client: Any) -> None:
    content = tar_of(("data", "dir", ""), (f"id-{uuid.uuid4().hex}", "file", "x"))
    image = engine._ensure_generated_image(content, "cai-test/generated")
    try:
        assert engine._ensure_generated_image(content, "cai-test/generated") == image
        docker_client.api.inspect_image(image)  # the very name it returned
    finally:
        docker_client.api.remove_image(image, force=True)


def test_a_failed_pull_says_so_with_the_hint(engine: Engine) -> None:
    missing = f"cai-test/never-pushed-{uuid.uuid4().hex[:8]}:x"
    # Podman answers 200 with the error in the body: the next request would say "no such image".
    with pytest.raises(EngineError, match=rf"image {missing} .* cannot be pulled .*; set it"):
        engine.ensure_image(missing, "set it")


def test_a_lock_taken_is_not_taken_twice(engine: Engine, docker_client: Any) -> None:
    volume = f"cai-test-lock-{uuid.uuid4().hex[:10]}"
    first = engine.create_lock(volume, "holder-one")
    try:
        assert first is not None
        assert engine.create_lock(volume, "holder-two") is None
        found = engine.lock_of(volume)
        assert found is not None and found[:2] == (first, "holder-one")
    finally:
        engine.remove_lock(first or lock_name(volume))


def test_an_engine_without_an_init_is_named_with_the_setting_to_change(docker_client: Any) -> None:
    """Against a Podman without catatonit (scripts/engines/podman with CAI_PODMAN_NO_INIT=1,
    whose socket scripts/test passes as CAI_TEST_NOINIT_HOST on the podman run)."""
    host = os.environ.get("CAI_TEST_NOINIT_HOST")
    if not host:
        if os.environ.get("CI") == "true" and engine_name() == "podman":
            pytest.fail("the podman run needs CAI_TEST_NOINIT_HOST (scripts/test sets it)")
        pytest.skip("no engine without an init here (CAI_TEST_NOINIT_HOST)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_HOST", host)
        bare = Engine.connect()
    name = f"cai-test-init-{uuid.uuid4().hex[:10]}"
    options = {"binds": None, "network_mode": "none", "command": ["true"]}
    try:
        with pytest.raises(EngineError, match=r"catatonit.*run\.init = false"):
            bare.create_container(name, TEST_IMAGE, init=True, **dict(options))
        made = bare.create_container(name, TEST_IMAGE, init=False, **dict(options))
        bare.start(made)
    finally:
        with contextlib.suppress(EngineError):
            bare.remove(name)
        bare.close()
