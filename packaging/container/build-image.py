#!/usr/bin/env python3
"""Assembles the exporter's OCI image from a release binary and a Debian root
filesystem (made by mmdebstrap, see the Makefile's `image` target), without a
registry or a container engine:

  build-image.py --binary B --chroot DIR --version V --revision R --created DATE --output dist/X.oci.tar

The image is a distroless-style tree: the binary, exactly the shared libraries it
loads (its ELF dependencies, resolved transitively in the chroot, with their
packages' copyright files), the CA bundle, the zoneinfo database, /etc/passwd and
/etc/group naming the fixed non-root user, and the two directories the exporter
uses. No shell, no package manager.

Everything is deterministic: files sorted, owners numeric, every time stamp the
commit's date, gzip without a name or time. Two builds of one commit from the same
Debian packages are the same bytes.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

NAME = "acs-ingestion-exporter"
UID = GID = 10193  # the port's number: easy to recognise in `ps` and file listings
USER = "acs-exporter"
PORT = 10193
DATA_DIR = f"/var/lib/{NAME}"
CONFIG_DIR = f"/etc/{NAME}"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
ZONEINFO = "/usr/share/zoneinfo"
SOURCE = "https://github.com/acs-ingestion-exporter/acs-ingestion-exporter"
LICENSE = "Apache-2.0"

# Debian architecture names as OCI spells them.
OCI_ARCH = {"amd64": "amd64", "arm64": "arm64", "x86_64": "amd64", "aarch64": "arm64"}


def elf_needed(path: Path) -> tuple[list[str], str | None]:
    """(DT_NEEDED sonames, program interpreter) of an ELF file."""
    dyn = subprocess.run(["readelf", "-dW", str(path)], check=True, capture_output=True, text=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
    prog = subprocess.run(["readelf", "-lW", str(path)], check=True, capture_output=True, text=True).stdout
    interp = re.search(r"Requesting program interpreter: ([^\]]+)\]", prog)
    return needed, interp.group(1) if interp else None


def library_dirs(chroot: Path) -> list[str]:
    """The chroot's multiarch library directories, as ld.so searches them."""
    dirs = []
    for base in ("lib", "usr/lib"):
        dirs += sorted(f"/{base}/{d.name}" for d in (chroot / base).glob("*-linux-gnu*") if d.is_dir())
        dirs.append(f"/{base}")
    return dirs


def resolve(chroot: Path, path: str) -> list[str]:
    """`path` and every symlink on the way to its file, as paths inside the chroot."""
    chain, seen = [], set()
    current = PurePosixPath(path)
    while True:
        # a symlinked directory (/lib -> usr/lib on merged-/usr) resolves first
        parent = PurePosixPath(os.path.realpath(chroot / str(current.parent).lstrip("/")))
        current = PurePosixPath("/") / parent.relative_to(chroot) / current.name
        if str(current) in seen:
            raise SystemExit(f"build-image: symlink loop at {current}")
        seen.add(str(current))
        chain.append(str(current))
        host = chroot / str(current).lstrip("/")
        if not host.is_symlink():
            if not host.is_file():
                raise SystemExit(f"build-image: {current} is missing from {chroot}")
            return chain
        target = os.readlink(host)
        current = PurePosixPath(target) if target.startswith("/") else current.parent / target


def runtime_files(chroot: Path, binary: Path) -> tuple[list[str], str]:
    """The libraries the binary loads (transitively), with symlinks, and the interpreter."""
    dirs = library_dirs(chroot)
    files: list[str] = []
    needed, interp = elf_needed(binary)
    if interp is None:
        raise SystemExit(f"build-image: {binary} is not dynamically linked")
    queue, done = list(needed), set()
    files += resolve(chroot, interp)
    while queue:
        soname = queue.pop(0)
        if soname in done:
            continue
        done.add(soname)
        found = next((f"{d}/{soname}" for d in dirs if (chroot / d.lstrip("/") / soname).exists()), None)
        if found is None:
            raise SystemExit(f"build-image: {soname} (needed by the binary) is not in {chroot}: add its package")
        chain = resolve(chroot, found)
        files += chain
        queue += elf_needed(chroot / chain[-1].lstrip("/"))[0]
    return sorted(set(files)), interp


def owning_packages(chroot: Path, paths: list[str]) -> set[str]:
    """The packages whose files `paths` are (from dpkg's file lists)."""
    wanted = set(paths)
    for path in list(paths):  # dpkg lists /lib/... on a merged-/usr system, or /usr/lib/...
        wanted.add(path.removeprefix("/usr") if path.startswith("/usr/lib") else "/usr" + path)
    owners = set()
    for listing in (chroot / "var/lib/dpkg/info").glob("*.list"):
        if wanted & set(listing.read_text(encoding="utf-8", errors="replace").split("\n")):
            owners.add(listing.stem.split(":")[0])
    return owners


class Layer:
    """A deterministic layer tarball."""

    def __init__(self, mtime: int):
        self.mtime = mtime
        self.entries: dict[str, tuple[tarfile.TarInfo, bytes | None]] = {}

    def _info(self, path: str, kind, mode: int, uid: int = 0, gid: int = 0) -> tarfile.TarInfo:
        info = tarfile.TarInfo(path.lstrip("/"))
        info.type, info.mode, info.mtime = kind, mode, self.mtime
        info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
        return info

    def directory(self, path: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
        self.entries[path.lstrip("/")] = (self._info(path, tarfile.DIRTYPE, mode, uid, gid), None)

    def parents(self, path: str) -> None:
        for parent in reversed(PurePosixPath(path).parents):
            if str(parent) not in ("/", ".") and str(parent).lstrip("/") not in self.entries:
                self.directory(str(parent))

    def data(self, path: str, content: bytes, mode: int = 0o644) -> None:
        self.parents(path)
        info = self._info(path, tarfile.REGTYPE, mode)
        info.size = len(content)
        self.entries[path.lstrip("/")] = (info, content)

    def copy(self, chroot: Path, path: str) -> None:
        """A file or symlink of the chroot at the same path."""
        host = chroot / path.lstrip("/")
        self.parents(path)
        if host.is_symlink():
            info = self._info(path, tarfile.SYMTYPE, 0o777)
            info.linkname = os.readlink(host)
            self.entries[path.lstrip("/")] = (info, None)
        elif host.is_dir():
            self.directory(path, host.stat().st_mode & 0o7777)
        else:
            self.data(path, host.read_bytes(), host.stat().st_mode & 0o7777)

    def tree(self, chroot: Path, path: str) -> None:
        self.copy(chroot, path)
        for root, dirs, names in os.walk(chroot / path.lstrip("/")):
            dirs.sort()
            for name in sorted(dirs + names):
                self.copy(chroot, "/" + str((Path(root) / name).relative_to(chroot)))

    def tar(self) -> bytes:
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for name in sorted(self.entries):
                info, content = self.entries[name]
                tar.addfile(info, io.BytesIO(content) if content is not None else None)
        return out.getvalue()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", type=Path, required=True, help="the release binary (stripped here)")
    p.add_argument("--chroot", type=Path, required=True, help="Debian root filesystem with the runtime packages")
    p.add_argument("--config", type=Path, required=True, help=f"default configuration, put in {CONFIG_DIR}/")
    p.add_argument("--license", type=Path, required=True, help="the exporter's LICENSE file")
    p.add_argument("--version", required=True)
    p.add_argument("--revision", default="", help="the git commit (empty outside a checkout)")
    p.add_argument("--created", required=True, help="RFC 3339 date of the commit")
    p.add_argument("--arch", required=True, help="amd64 or arm64 (the binary's platform)")
    p.add_argument("--output", type=Path, required=True)
    args = p.parse_args()
    args.chroot = args.chroot.resolve()

    created = datetime.fromisoformat(args.created.replace("Z", "+00:00")).astimezone(timezone.utc)
    created_text = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    mtime = int(created.timestamp())
    arch = OCI_ARCH[args.arch]

    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp) / NAME
        subprocess.run(["strip", "-o", str(binary), str(args.binary)], check=True)
        binary.chmod(0o755)
        libraries, _ = runtime_files(args.chroot, binary)

        # Layer 1, the base: what Debian provides. Changes only with the packages.
        base = Layer(mtime)
        for path in libraries:
            base.copy(args.chroot, path)
        for package in sorted(owning_packages(args.chroot, libraries) | {"ca-certificates", "tzdata"}):
            copyright_file = f"/usr/share/doc/{package}/copyright"
            if (args.chroot / copyright_file.lstrip("/")).exists():
                base.copy(args.chroot, copyright_file)
        base.copy(args.chroot, CA_BUNDLE)
        base.tree(args.chroot, ZONEINFO)
        # lib64 -> usr/lib64 style merged-/usr links the interpreter path goes through
        for link in ("/lib", "/lib64", "/bin"):
            if (args.chroot / link.lstrip("/")).is_symlink():
                base.copy(args.chroot, link)
        base.data("/etc/passwd", f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
                                 f"{USER}:x:{UID}:{GID}:{NAME}:{DATA_DIR}:/usr/sbin/nologin\n".encode())
        base.data("/etc/group", f"root:x:0:\n{USER}:x:{GID}:\n".encode())
        base.data("/etc/nsswitch.conf", b"passwd: files\ngroup: files\nhosts: files dns\n")
        base.directory("/tmp", 0o1777)

        # Layer 2: the exporter.
        app = Layer(mtime)
        app.data(f"/usr/bin/{NAME}", binary.read_bytes(), 0o755)
        app.data(f"/usr/share/doc/{NAME}/LICENSE", args.license.read_bytes())
        app.data(f"{CONFIG_DIR}/{NAME}.yml", args.config.read_bytes())
        app.parents(DATA_DIR)
        app.directory(DATA_DIR, 0o700, UID, GID)

    layers = []
    for layer in (base, app):
        raw = layer.tar()
        compressed = gzip.compress(raw, compresslevel=9, mtime=0)
        layers.append((raw, compressed))

    labels = {
        "org.opencontainers.image.title": NAME,
        "org.opencontainers.image.description": "Prometheus exporter for Adobe Campaign Standard data ingestion",
        "org.opencontainers.image.version": args.version,
        "org.opencontainers.image.revision": args.revision,
        "org.opencontainers.image.source": SOURCE,
        "org.opencontainers.image.licenses": LICENSE,
        "org.opencontainers.image.created": created_text,
    }
    config = {
        "created": created_text,
        "architecture": arch,
        "os": "linux",
        "config": {
            "User": f"{UID}:{GID}",
            "ExposedPorts": {f"{PORT}/tcp": {}},
            "Env": [
                "PATH=/usr/bin",
                f"SSL_CERT_FILE={CA_BUNDLE}",
            ],
            "Entrypoint": [f"/usr/bin/{NAME}"],
            "Cmd": [f"--config.file={CONFIG_DIR}/{NAME}.yml",
                    f"--storage.path={DATA_DIR}/acs-ingestion.sqlite",
                    f"--web.listen-address=:{PORT}"],
            "WorkingDir": DATA_DIR,
            "Volumes": {DATA_DIR: {}},
            "StopSignal": "SIGTERM",
            "Labels": labels,
        },
        "rootfs": {"type": "layers", "diff_ids": [sha256(raw) for raw, _ in layers]},
        "history": [
            {"created": created_text, "created_by": "make image: Debian runtime libraries, CA bundle, zoneinfo"},
            {"created": created_text, "created_by": f"make image: {NAME} {args.version}"},
        ],
    }
    config_blob = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256(config_blob), "size": len(config_blob)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": sha256(c), "size": len(c)} for _, c in layers],
        "annotations": {k: v for k, v in labels.items() if k != "org.opencontainers.image.description"},
    }
    manifest_blob = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    reference = f"{NAME}:{args.version}"
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256(manifest_blob), "size": len(manifest_blob),
            "platform": {"architecture": arch, "os": "linux"},
            # podman names the image from ref.name; docker (containerd) from its own key.
            "annotations": {"org.opencontainers.image.ref.name": reference,
                            "io.containerd.image.name": f"docker.io/library/{reference}"},
        }],
    }

    # The archive: an OCI image layout in a tar, deterministic like the layers.
    archive = Layer(mtime)
    archive.data("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
    archive.data("index.json", json.dumps(index, sort_keys=True, separators=(",", ":")).encode())
    for blob in [config_blob, manifest_blob] + [c for _, c in layers]:
        archive.data("blobs/sha256/" + sha256(blob).split(":")[1], blob)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(archive.tar())

    size = sum(len(raw) for raw, _ in layers)
    print(f"build-image: {args.output} ({reference}, {arch}): {size / 2**20:.1f} MiB uncompressed, "
          f"{args.output.stat().st_size / 2**20:.1f} MiB archive; {len(libraries)} library files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
