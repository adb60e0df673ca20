"""The local rsync image for B-upstream: Debian minbase + rsync, built without any registry.

``debootstrap --variant=minbase --include=rsync bookworm DIR`` (Debian's archive is reachable),
then ``tar -C DIR -c . | docker import - bench/rsync:local``. Built once and cached by tag.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

IMAGE = "bench/rsync:local"
SUITE = "bookworm"


def exists(image: str = IMAGE) -> bool:
    done = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False)
    return done.returncode == 0


def build(image: str = IMAGE, *, quiet: bool = False) -> None:
    """Build the image unless it exists. Needs root and the ``debootstrap`` package."""
    if exists(image):
        return
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is not installed (apt-get install debootstrap)")
    out = subprocess.DEVNULL if quiet else sys.stderr
    with tempfile.TemporaryDirectory(prefix="bench-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        subprocess.run(
            ["debootstrap", "--variant=minbase", "--include=rsync", SUITE, str(root)],
            check=True,
            stdout=out,
            stderr=out,
        )
        # Drop apt's caches: they only make the image bigger.
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(root / cache, ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        subprocess.run(["docker", "import", "-", image], stdin=tar.stdout, check=True, stdout=out)
        tar.stdout.close()
        if tar.wait() != 0:
            raise RuntimeError("tar of the debootstrap root failed")


if __name__ == "__main__":
    build()
    print(IMAGE)
