"""Process helpers shared by every native service: detached start, PID files, stop, health waits.

Each service lives in `<stack_dir>/<name>/`: its output goes to `log`, its PID to `pid`.
Processes start in their own session (process group), so stopping signals the whole group
(Elasticsearch's launcher forks the server JVM, for instance). A supervised service (api,
relay, projector) also has `supervisor.pid` and `supervisor.json` (see `bench.stack.supervisor`);
its `pid` is then the service process itself, rewritten by the supervisor at every restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class StackError(RuntimeError):
    """A failure with a message that tells the user what to do about it."""


@dataclass(frozen=True)
class ServicePaths:
    """Where a native service keeps its state under the stack directory."""

    root: Path

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def pid_file(self) -> Path:
        return self.root / "pid"

    @property
    def supervisor_pid_file(self) -> Path:
        return self.root / "supervisor.pid"

    def read_pid(self) -> int | None:
        """The recorded PID of the service process if it is still alive, else None."""
        return _live_pid(self.pid_file)

    def read_supervisor_pid(self) -> int | None:
        """The PID of the service's supervisor if it is still alive, else None."""
        return _live_pid(self.supervisor_pid_file)


def _live_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def pid_alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in {"Z", "X"}


def start_detached(
    argv: Sequence[str],
    paths: ServicePaths,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
    pid_file: Path | None = None,
) -> int:
    """Start `argv` in a new session, output appended to `paths.log`; record and return its PID.

    With `user`, the process runs as that OS user (its primary group, no supplementary groups)
    with HOME set to the user's home directory. The PID goes to `pid_file` (default
    `paths.pid_file`).
    """
    paths.root.mkdir(parents=True, exist_ok=True)
    full_env = dict(os.environ if env is None else env)
    kwargs: dict[str, object] = {}
    if user is not None:
        entry = pwd.getpwnam(user)
        kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        full_env["HOME"] = entry.pw_dir
        full_env["USER"] = user
    with paths.log.open("ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} start: {' '.join(argv)}\n".encode())
        log.flush()
        proc = subprocess.Popen(  # type: ignore[call-overload]
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=str(cwd) if cwd else None,
            start_new_session=True,
            **kwargs,
        )
    pid: int = proc.pid
    (pid_file or paths.pid_file).write_text(f"{pid}\n")
    return pid


def start_supervised(
    argv: Sequence[str],
    paths: ServicePaths,
    *,
    stop_timeout: float,
    first_env: Mapping[str, str] | None = None,
) -> int:
    """Start `argv` under `bench.stack.supervisor` (detached); returns the supervisor's PID.

    The supervisor records the service's own PID in `paths.pid_file` once it has spawned it;
    `first_env` goes to the first child's environment only (a fault-injection hook).
    """
    paths.pid_file.unlink(missing_ok=True)
    supervisor = [
        sys.executable,
        "-m",
        "bench.stack.supervisor",
        "--dir",
        str(paths.root),
        "--stop-timeout",
        str(stop_timeout),
        *(f"--first-env={key}={value}" for key, value in (first_env or {}).items()),
        "--",
        *argv,
    ]
    return start_detached(supervisor, paths, pid_file=paths.supervisor_pid_file)


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our own child (same CLI invocation)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop_pid(pid: int, *, sig: int = signal.SIGTERM, timeout: float = 30.0) -> bool:
    """Send `sig` to `pid` and its process group; SIGKILL it and every descendant after `timeout`.

    Returns True if anything had to be killed. Descendants are tracked by parent PID as well,
    since some servers (PostgreSQL) put their children in sessions of their own.
    """
    family = {pid, *descendants(pid)}
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(pid), sig)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not any(pid_alive(p) for p in family):
            return False
        time.sleep(0.1)
    for p in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    for _ in range(50):
        _reap(pid)
        if not any(pid_alive(p) for p in family):
            break
        time.sleep(0.1)
    return True


def descendants(pid: int) -> list[int]:
    """All live descendants of `pid` (by parent PID)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[-1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_owner(port: int) -> str | None:
    """Describe the process listening on TCP `port` ('pid 123 (java)'), if we can find it."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(cols[9])
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            for fd in fd_dir.iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in targets:
                        pid = fd_dir.parent.name
                        comm = (fd_dir.parent / "comm").read_text().strip()
                        return f"pid {pid} ({comm})"
    return "an unknown process"


def ensure_port_free(host: str, port: int, service: str) -> None:
    """Raise an actionable StackError if `port` is already taken."""
    if port_open(host, port) or port_owner(port) is not None:
        owner = port_owner(port) or "an unknown process"
        raise StackError(
            f"{service}: port {port} is already in use by {owner}, and it does not answer as "
            f"{service}. Stop that process (kill <pid>) or point the settings elsewhere "
            f"(CQRS_* environment variables), then run `cqrs-bench up` again."
        )


def rss_bytes(pid: int) -> int:
    """Resident memory of `pid` and all its descendants, in bytes."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for p in (pid, *descendants(pid)):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[-1].split()
            total += int(fields[21]) * page
    return total


async def wait_until(
    check: Callable[[], Awaitable[bool]],
    *,
    timeout: float,  # noqa: ASYNC109
    interval: float = 0.25,
    alive: Callable[[], bool] | None = None,
) -> bool:
    """Poll `check` until it returns True or `timeout` elapses; stop early if `alive()` is False."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if await check():
                return True
        except Exception:
            pass
        if alive is not None and not alive():
            return False
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)


def tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a text file ('' if missing)."""
    try:
        data = path.read_bytes()[-65536:]
    except OSError:
        return ""
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


def run(argv: Sequence[str], *, what: str, user: str | None = None, **kw: object) -> str:
    """Run a short command to completion; raise StackError with its output if it fails."""
    extra: dict[str, object] = dict(kw)
    if user is not None:
        entry = pwd.getpwnam(user)
        extra.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
    try:
        done = subprocess.run(  # type: ignore[call-overload]
            list(argv), capture_output=True, text=True, check=False, **extra
        )
    except FileNotFoundError as exc:
        raise StackError(f"{what}: {argv[0]} not found ({exc}).") from exc
    if done.returncode != 0:
        raise StackError(
            f"{what} failed (exit {done.returncode}): {' '.join(argv)}\n{done.stdout}{done.stderr}"
        )
    out: str = done.stdout
    return out


def ensure_user(name: str) -> pwd.struct_passwd:
    """The OS user `name`, created (system user, no login) if missing. Needs root to create."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise StackError(f"OS user {name!r} is missing; create it (useradd --system {name}).")
    run(
        ["useradd", "--system", "--create-home", "--shell", "/usr/sbin/nologin", name],
        what=f"creating user {name}",
    )
    return pwd.getpwnam(name)


def chown_tree(path: Path, user: str) -> None:
    """Give `path` and everything below it to `user` (no-op unless root)."""
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(user)
    for p in [path, *path.rglob("*")]:
        with contextlib.suppress(OSError):
            os.lchown(p, entry.pw_uid, entry.pw_gid)
