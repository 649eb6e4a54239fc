"""Cached downloads: everything fetched lands in `Settings.cache_dir`, atomically.

A download or extraction goes to a temporary name next to its target and is renamed into
place only when complete, so an interrupted run never leaves a half-written cache entry.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import httpx

from bench.stack.process import StackError, run

MAVEN_CENTRAL = os.environ.get("CQRS_MAVEN_CENTRAL", "https://repo1.maven.org/maven2")


def fetch(url: str, target: Path, *, sha512: str | None = None) -> Path:
    """Download `url` to `target` unless it is already there. Returns `target`."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha512()
    try:
        with (
            os.fdopen(fd, "wb") as out,
            httpx.stream(
                "GET", url, follow_redirects=True, timeout=httpx.Timeout(30.0, read=120.0)
            ) as response,
        ):
            response.raise_for_status()
            for chunk in response.iter_bytes(1 << 20):
                out.write(chunk)
                digest.update(chunk)
        if sha512 is not None and digest.hexdigest() != sha512.lower():
            raise StackError(f"checksum mismatch for {url}")
        tmp.rename(target)
    except (httpx.HTTPError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise StackError(
            f"download failed: {url} ({exc}). Check network access to {MAVEN_CENTRAL} "
            f"(or place the file at {target} by hand), then run `cqrs-bench up` again."
        ) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def unzip_once(archive: Path, target: Path, *, strip_top: bool = True) -> Path:
    """Extract `archive` into `target` (atomically) unless `target` exists. Returns `target`."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                name = info.filename
                if strip_top:
                    name = name.split("/", 1)[1] if "/" in name else ""
                if not name:
                    continue
                dest = tmp / name
                if info.is_dir():
                    dest.mkdir(parents=True, exist_ok=True)
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, dest.open("wb") as out:
                    shutil.copyfileobj(src, out)
                mode = (info.external_attr >> 16) & 0o777
                dest.chmod(mode or 0o644)
        tmp.chmod(0o755)
        tmp.rename(target)
    except (zipfile.BadZipFile, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StackError(
            f"could not extract {archive} ({exc}); delete it and run `cqrs-bench up` again."
        ) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def maven_copy_dependencies(pom: Path, out_dir: Path, cache_dir: Path, **props: str) -> Path:
    """Resolve the runtime dependencies of `pom` into `out_dir` (atomically) with `mvn`."""
    if out_dir.exists():
        return out_dir
    if shutil.which("mvn") is None:
        raise StackError("Maven (`mvn`) is missing: `apt-get install -y maven`.")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    argv = [
        "mvn",
        "-q",
        "-B",
        "-f",
        str(pom),
        f"-Dmaven.repo.local={cache_dir / 'm2'}",
        *(f"-D{k}={v}" for k, v in props.items()),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={tmp / 'libs'}",
    ]
    try:
        run(argv, what=f"resolving {pom.parent.name} jars from Maven Central")
        tmp.chmod(0o755)
        tmp.rename(out_dir)
    except StackError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StackError(
            f"{exc}\nCheck network access to {MAVEN_CENTRAL}, then run `cqrs-bench up` again "
            "(nothing partial was cached)."
        ) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
