"""Elasticsearch 8.19 from Maven Central's integ-test-zip, as the non-root user `cqrsbench`.

The zip is cached in `<cache_dir>`; it is extracted into `<stack_dir>/elasticsearch/home-<ver>`
(the cache lives under /root, which the service user cannot read). Config, data, logs and tmp
live beside it, owned by `cqrsbench`. Single node, loopback only, security off, 512 MB heap,
disk watermarks off. The integ-test-zip carries only the modules transport-netty4, apm,
x-pack-core and x-pack-security: no painless scripts, no _reindex/_update_by_query, no
analysis-common (the standard and keyword analyzers, terms/sum/... aggregations, index
templates, aliases and external versioning are all in the server core and work), and no
rest-root — so we compile and add a tiny module serving `GET /` and `HEAD /` (es_rest_root/).

The filesystem under `data` bounds the projectors' lag (issue 14): every refresh creates and
deletes some tens of files, and ext4 without a journal (the dev box's root filesystem) skips,
for each new inode, every inode of its group deleted in the last minutes (`find_inode_bit` /
`recently_deleted` in fs/ext4/ialloc.c; a journaled ext4 does not), which made 70-85 % of a
refresh's CPU kernel time there (see `SharedRefresh` in `system/projections/pipeline.py`).
Two scratch nodes side by side, same load (an 8-doc bulk into each of four read-model copies,
then one refresh of all four, 10 cycles/s, interleaved rounds), after the first few minutes:
on a journaled ext4 (a loop-mounted image) 13 ms of kernel CPU per cycle, cycle p50/p90
57/83 ms; on the journal-less root 67-83 ms and rising with the churn, 106-126/159-191 ms.
tmpfs avoids it too but is not durable, and the read models must be (exactly-once). So, as
root, `start` puts `data` on a journaled ext4 image when it finds it on a journal-less one
(`bench/stack/volume.py`, `CQRS_ES_VOLUME`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import httpx
from rich.console import Console

from bench.stack.downloads import MAVEN_CENTRAL, fetch, unzip_once
from bench.stack.java import java_home
from bench.stack.process import (
    StackError,
    chown_tree,
    ensure_port_free,
    ensure_user,
    run,
    start_detached,
)
from bench.stack.registry import (
    Service,
    host_port,
    http_get_json,
    is_local_default,
    register_service,
    service_paths,
)
from bench.stack.volume import ensure_journaled, policy_from_env
from system.config import DEFAULT_ES_PORT, Settings

ES_VERSION = "8.19.21"
OS_USER = "cqrsbench"
TRANSPORT_PORT = DEFAULT_ES_PORT + 100  # 19300
HEAP = "-Xms512m -Xmx512m"
JIT_MODES = {"c1": "-XX:TieredStopAtLevel=1", "tiered": ""}
"""`CQRS_ES_JIT`: `c1` stops the JIT at its first tier, `tiered` is the JVM's default (C1, then
C2 for hot code). See `jit_option` for why the choice is offered."""
DEFAULT_JIT = "tiered"
REST_ROOT_MODULE = "cqrs-rest-root"
REST_ROOT_SOURCE = Path(__file__).parent / "es_rest_root" / "RestRootPlugin.java"
ZIP_URL = (
    f"{MAVEN_CENTRAL}/org/elasticsearch/distribution/integ-test-zip/elasticsearch/"
    f"{ES_VERSION}/elasticsearch-{ES_VERSION}.zip"
)

CONFIG = """\
# written by cqrs-bench at every start; edits are overwritten
cluster.name: cqrs-bench
node.name: cqrs-bench-1
path.data: {data}
path.logs: {logs}
network.host: 127.0.0.1
http.port: {http_port}
transport.port: {transport_port}
discovery.type: single-node
xpack.security.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
"""


async def health(settings: Settings) -> bool:
    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            response = await client.get(
                f"{settings.es_url}/_cluster/health",
                params={"wait_for_status": "yellow", "timeout": "1s"},
            )
            return response.status_code == 200 and response.json().get("status") in {
                "green",
                "yellow",
            }
    except (httpx.HTTPError, ValueError):
        return False


async def version(settings: Settings) -> str | None:
    """The node's version: from `GET /` when served, else from `GET /_nodes/_local`.

    The bare integ-test-zip has no `rest-root` module (we add ours), so
    `GET /` may answer 405 on a bare install; `_nodes` is always there.
    """
    try:
        root = await http_get_json(settings.es_url)
        if isinstance(root, dict) and isinstance(root.get("version"), dict):
            return str(root["version"]["number"])
    except (httpx.HTTPError, ValueError, KeyError):
        pass
    try:
        nodes = await http_get_json(f"{settings.es_url}/_nodes/_local?filter_path=nodes.*.version")
    except (httpx.HTTPError, ValueError):
        return None
    if isinstance(nodes, dict):
        for node in nodes.get("nodes", {}).values():
            return str(node["version"])
    return None


def ensure_install(settings: Settings) -> Path:
    """ES home readable by the service user: cached zip, extracted under the stack dir."""
    archive = fetch(ZIP_URL, settings.cache_dir / f"elasticsearch-{ES_VERSION}.zip")
    home = service_paths(settings, "elasticsearch").root / f"home-{ES_VERSION}"
    unzip_once(archive, home)
    module = build_rest_root(settings, home)
    if module is not None:
        shutil.copytree(module, home / "modules" / REST_ROOT_MODULE, dirs_exist_ok=True)
    return home


def build_rest_root(settings: Settings, home: Path) -> Path | None:
    """Compile `es_rest_root/RestRootPlugin.java` into a module (cached); None without javac.

    The integ-test-zip lacks the `rest-root` module, so `GET /` (the client's info() and
    ping()) would answer 405; this small module serves the same body.
    """
    javac = java_home() / "bin" / "javac"
    if not javac.exists():
        return None
    source = REST_ROOT_SOURCE.read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:12]
    target = settings.cache_dir / f"es-rest-root-{ES_VERSION}-{digest}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        classes = tmp / "classes"
        javac_args = ["-cp", f"{home / 'lib'}/*", "-d", str(classes), str(REST_ROOT_SOURCE)]
        run(
            [str(javac), "--release", "17", "-proc:none", "-nowarn", *javac_args],
            what="compiling the Elasticsearch rest-root module",
        )
        jar = tmp / f"{REST_ROOT_MODULE}.jar"
        run(
            [str(java_home() / "bin" / "jar"), "cf", str(jar), "-C", str(classes), "."],
            what="packaging the Elasticsearch rest-root module",
        )
        shutil.rmtree(classes)
        (tmp / "plugin-descriptor.properties").write_text(
            "description=GET / and HEAD / for the integ-test-zip (cqrs-bench)\n"
            f"version={ES_VERSION}\nname={REST_ROOT_MODULE}\n"
            "classname=cqrsbench.es.RestRootPlugin\njava.version=17\n"
            f"elasticsearch.version={ES_VERSION}\n"
        )
        tmp.chmod(0o755)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def jit_option(environ: Mapping[str, str]) -> str:
    """The JVM flag for `CQRS_ES_JIT` (default tiered), refused by name when unknown.

    C2 compiles Elasticsearch's hot paths for tens of minutes after a start
    (`resources.jit_seconds` in a load run shows it), and a run taken then measures the warm-up.
    C1 alone stops that early but leaves slower code: at 50 orders/s, end-to-end lag p50 388-399
    ms against 245-250 ms with tiered compilation (README), hence the default.
    """
    mode = environ.get("CQRS_ES_JIT", DEFAULT_JIT)
    if mode not in JIT_MODES:
        raise StackError(f"CQRS_ES_JIT={mode!r} is not one of {', '.join(JIT_MODES)}")
    return JIT_MODES[mode]


async def start(settings: Settings) -> int:
    jit = jit_option(os.environ)  # refused before anything changes
    paths = service_paths(settings, "elasticsearch")
    jdk = java_home()
    ensure_user(OS_USER)
    home = ensure_install(settings)
    config, data, logs, tmp = (paths.root / d for d in ("config", "data", "logs", "tmp"))
    for d in (config, data, logs, tmp):
        d.mkdir(parents=True, exist_ok=True)
    for name in ("jvm.options", "log4j2.properties"):
        shutil.copyfile(home / "config" / name, config / name)
    (config / "jvm.options.d").mkdir(exist_ok=True)
    (config / "elasticsearch.yml").write_text(
        CONFIG.format(
            data=data, logs=logs, http_port=DEFAULT_ES_PORT, transport_port=TRANSPORT_PORT
        )
    )
    for d in (paths.root, home):
        d.chmod(0o755)
    settings.stack_dir.chmod(settings.stack_dir.stat().st_mode | 0o011)
    for parent in settings.stack_dir.parents:
        if not parent.stat().st_mode & 0o001:
            raise StackError(
                f"{parent} is not traversable by the user {OS_USER}, so Elasticsearch cannot "
                f"read its files under {settings.stack_dir}: `chmod o+x {parent}` or set "
                "CQRS_STACK_DIR to a directory outside it."
            )
    host, port = host_port(settings.es_url, DEFAULT_ES_PORT)
    ensure_port_free(host, port, "elasticsearch")
    ensure_port_free("127.0.0.1", TRANSPORT_PORT, "elasticsearch (transport)")
    warning = ensure_journaled(data, policy_from_env())  # the node is stopped: data may move
    if warning is not None:
        Console(stderr=True).print(f"[yellow]elasticsearch: {warning}[/]")
    for d in (config, data, logs, tmp):
        chown_tree(d, OS_USER)
    env = {
        **os.environ,
        "ES_JAVA_HOME": str(jdk),
        "ES_PATH_CONF": str(config),
        "ES_JAVA_OPTS": f"{HEAP} {jit}".strip(),
        "ES_TMPDIR": str(tmp),
    }
    env.pop("JAVA_HOME", None)
    as_user = OS_USER if os.geteuid() == 0 else None
    return start_detached(
        [str(home / "bin" / "elasticsearch")], paths, env=env, cwd=logs, user=as_user
    )


register_service(
    Service(
        name="elasticsearch",
        url=lambda s: s.es_url,
        health=health,
        version=version,
        start=start,
        managed=lambda s: is_local_default(s.es_url, DEFAULT_ES_PORT),
        ports=lambda _s: [DEFAULT_ES_PORT, TRANSPORT_PORT],
        start_timeout=180.0,
        stop_timeout=45.0,
        background=True,
    )
)
