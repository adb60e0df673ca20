"""Helper containers: how containai reaches a volume's files without running anything in it.

A helper is created but never started: the engine's archive API (put_archive, get_archive) works
on a created container. Its image is generated here, holding nothing but the mount point, so no
registry is needed. Only deleting files runs a program (``run_in_volume``). Every helper is
built by ``_create_hardened``: no network, no capability, no new privileges, one mount.

One exception, on Podman only: a start of the helper of a volume whose root is not yet the
agent's is attempted (``_copy_up``), because Podman gives a new volume its mount point's owner
and mode only when a container starts. There is no program to run: the start fails at once,
after Podman has set the volume root.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import tarfile
import time
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from containai import labels
from containai.engine.containers import ContainersMixin
from containai.engine.errors import api_errors
from containai.engine.volume_io import Helper

__all__ = ["Helper", "HelperSpec", "HelpersMixin"]


@dataclass(frozen=True)
class HelperSpec:
    """What a helper container looks like, read from templates/containers/helper.toml.j2."""

    image: str
    mount: str
    command: list[str]
    user: str
    mount_uid: int
    mount_gid: int
    mount_mode: int

    @classmethod
    def from_toml(cls, text: str) -> HelperSpec:
        data = tomllib.loads(text)
        point = data["mount_point"]
        return cls(
            image=data["image"],
            mount=data["mount"],
            command=list(data["command"]),
            user=data["user"],
            mount_uid=point["uid"],
            mount_gid=point["gid"],
            mount_mode=point["mode"],
        )


class HelpersMixin(ContainersMixin):
    """Helpers are containers: this builds on ContainersMixin (ensure_image)."""

    run: str  # this command's id (Engine)

    @contextlib.contextmanager
    def helper(self, volume: str, spec: HelperSpec, *, read_only: bool = False) -> Iterator[Helper]:
        """A created, never-started container with ``volume`` at ``spec.mount``; always removed."""
        image = self._ensure_helper_image(spec)
        name = f"containai-helper-{uuid.uuid4().hex[:12]}"
        helper = Helper(self.client, name, spec.mount, flavour=self.flavour, read_only=read_only)
        try:
            with api_errors("cannot create the helper container"):
                self._create_hardened(
                    name,
                    image,
                    spec.command,
                    volume=volume,
                    mount=spec.mount,
                    user=spec.user,
                    read_only=read_only,
                )
            if not (read_only or self.flavour.copies_up_at_create):
                self._copy_up(helper, spec)
            yield helper
        finally:
            # Open archive streams first: the engine will not remove a container while it is
            # still streaming from it. Removal goes by name, so an interrupt that struck while
            # the container was being created cannot leave it behind.
            helper.close()
            with contextlib.suppress(Exception):
                self.client.api.remove_container(name, force=True, v=False)

    def _copy_up(self, helper: Helper, spec: HelperSpec) -> None:
        """Give a new volume's root the mount point's owner and mode where the engine does so
        only when a container starts (Podman), as Docker does when one is created.

        Podman sets them the first time a container that mounts the volume starts; the start
        fails at once here (the image holds no program), after the volume is set. A root whose
        mode already is the mount point's was done before: no start then."""
        import docker.errors

        found = helper.stat("")
        if found is not None and int(found.get("mode", 0)) & 0o7777 == spec.mount_mode:
            return
        with contextlib.suppress(docker.errors.APIError):
            self.client.api.start(helper.id)

    def remove_stale_helpers(self, volume: str, *, older_than: float = 3600) -> int:
        """Remove never-started helpers of ``volume`` left by killed commands (a SIGKILL leaves
        no chance to clean up). Only old ones: a younger one may belong to a running command."""
        wanted = [f"{labels.ROLE}={labels.HELPER}", f"{labels.VOLUME}={volume}"]
        with api_errors("cannot list containers"):
            found = self.client.api.containers(all=True, filters={"label": wanted})
        cutoff = time.time() - older_than
        removed = 0
        for item in found:
            if item.get("State") == "created" and item.get("Created", cutoff) < cutoff:
                with contextlib.suppress(Exception):
                    self.client.api.remove_container(item["Id"], force=True)
                    removed += 1
        return removed

    def run_in_volume(
        self, volume: str, image: str, command: list[str], *, mount: str = "/data"
    ) -> tuple[int, str]:
        """Run a short program against the volume (for what the archive API cannot do: delete).

        It runs as root with every capability dropped except DAC_OVERRIDE, which deleting files
        of any owner needs.
        """
        self.ensure_image(image, "set engine.shell_image to a local image with a POSIX shell")
        name = f"containai-helper-{uuid.uuid4().hex[:12]}"
        try:
            with api_errors("the helper container failed"):
                self._create_hardened(
                    name,
                    image,
                    command[1:],
                    # The program itself, not the image's entrypoint (an agent image has one).
                    entrypoint=command[:1],
                    volume=volume,
                    mount=mount,
                    user="0:0",
                    cap_add=["DAC_OVERRIDE"],
                )
                self.client.api.start(name)
                status = self.client.api.wait(name)
                output = self.client.api.logs(name, stdout=True, stderr=True)
            return int(status.get("StatusCode", 1)), output.decode(errors="replace")
        finally:
            with contextlib.suppress(Exception):
                self.client.api.remove_container(name, force=True)

    def _create_hardened(
        self,
        name: str,
        image: str,
        command: list[str],
        *,
        volume: str,
        role: str = labels.HELPER,
        mount: str | None = None,
        user: str = "0:0",
        read_only: bool = False,
        cap_add: list[str] | None = None,
        extra_labels: dict[str, str] | None = None,
        entrypoint: list[str] | None = None,
    ) -> str:
        """The one way containai makes a container of its own: no network, no capabilities
        (but ``cap_add``), no new privileges, at most the volume as its only mount, and the
        labels that find it again (this command's run among them, for a signal's clean-up)."""
        binds = {volume: {"bind": mount, "mode": "ro" if read_only else "rw"}} if mount else None
        created = self.client.api.create_container(
            image=image,
            command=command,
            entrypoint=entrypoint,
            name=name,
            labels={
                labels.MANAGED: "true",
                labels.ROLE: role,
                labels.VOLUME: volume,
                labels.RUN: self.run,
                **(extra_labels or {}),
            },
            network_disabled=True,
            user=user,
            host_config=self.client.api.create_host_config(
                binds=binds,
                network_mode="none",
                privileged=False,
                cap_drop=["ALL"],
                cap_add=cap_add,
                security_opt=["no-new-privileges"],
                log_config={"type": "json-file"},  # run_in_volume reads its output back
            ),
        )
        return str(created["Id"])

    def remove_run_leftovers(self) -> None:
        """Remove every helper and lock this command made: after an interrupt, one may have been
        created while the request was cut short (the engine finishes what it was sent)."""
        wanted = {"label": [f"{labels.RUN}={self.run}"]}
        quiet = 0
        for _attempt in range(30):  # at most 3 s; done after 0.3 s of nothing found
            try:
                found = self.client.api.containers(all=True, filters=wanted)
                for item in found:
                    self.client.api.remove_container(item["Id"], force=True)
            except Exception:
                return  # the engine is gone or hangs: the next command sweeps stale ones
            quiet = 0 if found else quiet + 1
            if quiet >= 3:
                return
            time.sleep(0.1)

    def _ensure_helper_image(self, spec: HelperSpec) -> str:
        return self._ensure_generated_image(_mount_point_tar(spec), spec.image)

    def _ensure_generated_image(self, content: bytes, repository: str = "containai/helper") -> str:
        """An image holding ``content`` (a tar), generated here if absent. Its tag is a hash of
        its content, so a change of owner or mode never reuses an image made for another."""
        import docker.errors

        tag = hashlib.sha256(content).hexdigest()[:16]
        image = f"{repository}:{tag}"
        try:
            self.client.api.inspect_image(image)
            return image
        except docker.errors.ImageNotFound:
            pass
        with api_errors("cannot create the helper image"):
            # The tag inside ``repository``: Podman ignores the import's ``tag`` parameter.
            self.client.api.import_image_from_data(content, repository=image)
        return image


def _mount_point_tar(spec: HelperSpec) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(spec.mount.strip("/"))
        info.type = tarfile.DIRTYPE
        info.mode = spec.mount_mode
        info.uid, info.gid = spec.mount_uid, spec.mount_gid
        tar.addfile(info)
    return buffer.getvalue()
