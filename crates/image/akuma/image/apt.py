"""Package resolution with an apt state private to the cache.

apt-get is told to use the host's sources (the Debian archive the host's apt
points at) but its own lists, status file and archive cache under
``cache_dir``, with arm64 as its only architecture: the host's apt
configuration and dpkg's architecture list are never touched.  apt computes
the dependency closure (``install --print-uris`` against an empty status);
``apt-cache show`` gives each package's SHA256 from the signed index."""
import os
import pathlib
import re
import shutil
import subprocess
from dataclasses import dataclass

from akuma.image.errors import ImageError

ARCH = "arm64"
_URI_LINE = re.compile(r"^'(?P<url>[^']+)' (?P<file>\S+) (?P<size>\d+)")


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    arch: str
    url: str
    filename: str          # the cache name apt uses (epoch's ':' as %3a)
    size: int
    sha256: str


class AptState:
    """apt-get/apt-cache run against a private state in ``cache_dir``."""

    def __init__(self, cache_dir, sources=None):
        self.dir = pathlib.Path(cache_dir)
        # A sources.list to use instead of the host's (AKUMA_APT_SOURCES).
        self.sources = sources if sources is not None else os.environ.get("AKUMA_APT_SOURCES")

    def _opts(self):
        d = self.dir
        return ["-o", f"APT::Architecture={ARCH}", "-o", f"APT::Architectures::={ARCH}",
                "-o", f"Dir::State::Lists={d}/lists", "-o", f"Dir::State::status={d}/status",
                "-o", f"Dir::Cache={d}/cache", "-o", "Debug::NoLocking=1",
                "-o", "APT::Sandbox::User=root", "-o", "Acquire::Languages=none"] + \
            (["-o", f"Dir::Etc::SourceList={os.path.abspath(self.sources)}",
              "-o", f"Dir::Etc::SourceParts={d}/no-source-parts"] if self.sources else [])

    def _run(self, tool, *args, timeout=600):
        if not shutil.which(tool):
            raise ImageError(f"{tool} not found: building an image needs apt "
                             f"(a Debian or Ubuntu host)")
        cp = subprocess.run([tool, "-q", *self._opts(), *args], capture_output=True,
                            text=True, timeout=timeout, cwd=self.dir)
        if cp.returncode != 0:
            err = " ".join(cp.stderr.split())[-300:] or f"exit status {cp.returncode}"
            raise ImageError(f"{tool} {args[0]}: {err}")
        return cp.stdout, cp.stderr

    def prepare(self):
        for sub in ("lists/partial", "cache/archives/partial", "debs", "no-source-parts"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / "status").touch()

    def has_lists(self):
        return any((self.dir / "lists").glob("*_Packages*"))

    def update(self):
        """Fetch the archive's package lists (arm64) into the private state."""
        self.prepare()
        _, err = self._run("apt-get", "update")
        # apt-get update exits 0 even when no source could be reached.
        if not self.has_lists():
            why = " ".join(l.strip() for l in err.splitlines() if l.startswith(("W:", "E:")))
            raise ImageError("no Debian archive reachable for arm64 packages"
                             + (f" ({why[:240]})" if why else ""))

    def closure(self, names):
        """Every package needed to install ``names`` (Depends and
        Pre-Depends, no Recommends), with download URL and SHA256."""
        return self._resolve(["install", "--print-uris", "-y", "--no-install-recommends",
                              *names], names)

    def exact(self, names):
        """Just ``names`` (no dependencies), with download URL and SHA256."""
        return self._resolve(["download", "--print-uris", *names], names)

    def _resolve(self, args, names):
        self.prepare()
        if not self.has_lists():
            self.update()
        try:
            out, _ = self._run("apt-get", *args)
        except ImageError as e:
            if "Unable to locate" not in str(e) and "Can't select" not in str(e):
                raise
            self.update()           # stale or partial lists: refresh once
            out, _ = self._run("apt-get", *args)
        uris = []
        for line in out.splitlines():
            m = _URI_LINE.match(line)
            if m:
                uris.append((m["url"], m["file"], int(m["size"])))
        if not uris:
            raise ImageError(f"apt resolved nothing to download for {' '.join(names)}")
        records = self._records([f"{n}={v}" for n, v, _ in
                                 (_split_deb_name(f) for _, f, _ in uris)])
        pkgs = []
        for url, fname, size in uris:
            name, version, arch = _split_deb_name(fname)
            rec = records.get((name, version, arch))
            if rec is None or "SHA256" not in rec:
                raise ImageError(f"no SHA256 for {name} {version} in the archive index")
            pkgs.append(Package(name, version, arch, url, fname, size, rec["SHA256"]))
        return pkgs

    def _records(self, specs):
        out, _ = self._run("apt-cache", "show", "--no-all-versions", *specs)
        records = {}
        for block in out.split("\n\n"):
            rec = {}
            for line in block.splitlines():
                if line[:1] not in (" ", "\t") and ":" in line:
                    k, _, v = line.partition(":")
                    rec[k] = v.strip()
            if "Package" in rec:
                records[(rec["Package"], rec.get("Version", ""),
                         rec.get("Architecture", ""))] = rec
        return records


def _split_deb_name(fname):
    """'libc6_2.36-9_arm64.deb' -> ('libc6', '2.36-9', 'arm64'); apt writes
    an epoch's ':' as '%3a' in file names."""
    stem = fname[:-4] if fname.endswith(".deb") else fname
    name, version, arch = stem.split("_")
    return name, version.replace("%3a", ":"), arch


def default_cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "akuma"
