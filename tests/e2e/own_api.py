"""An api process of this tree on a free port, for tests that need settings the shared stack's
api must not get (a token, a test-only delay); the shared api is left alone."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.load.locust_process import free_port

CLI = str(Path(sys.executable).with_name("cqrs-bench"))
START_TIMEOUT_S = 60


@contextlib.contextmanager
def own_api(log_dir: Path, env: dict[str, str], ready_path: str = "/health") -> Iterator[str]:
    """Start `cqrs-bench serve api` with `env` added, wait until `ready_path` answers 200, yield
    its URL, terminate it after. Its log is `log_dir/api-<port>.log`."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = log_dir / f"api-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [CLI, "serve", "api", "--port", str(port)],
            env={**os.environ, **env, "CQRS_API_URL": url},
            stdout=log,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{url}{ready_path}", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, f"the test's api did not answer {ready_path}"
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
