"""Apache Kafka 4.x, KRaft single node (broker + controller), jars from Maven Central.

`bench/stack/kafka/pom.xml` is resolved with `mvn dependency:copy-dependencies` into
`<cache_dir>/kafka-<version>/libs` (once); storage is formatted once under
`<stack_dir>/kafka/data`; the broker runs as `java -cp 'libs/*' kafka.Kafka server.properties`.
"""

from __future__ import annotations

import base64
import contextlib
import shutil
import uuid
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from bench.stack.downloads import maven_copy_dependencies
from bench.stack.java import java_bin
from bench.stack.process import ensure_port_free, port_open, run, start_detached
from bench.stack.registry import (
    Service,
    host_port,
    is_local_default,
    register_service,
    service_paths,
)
from system.config import DEFAULT_KAFKA_CONTROLLER_PORT, DEFAULT_KAFKA_PORT, Settings

KAFKA_VERSION = "4.4.0"
HERE = Path(__file__).parent / "kafka"
HEAP = ["-Xms256m", "-Xmx512m"]

SERVER_PROPERTIES = """\
# written by cqrs-bench at every start; edits are overwritten
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={data}
num.partitions={partitions}
auto.create.topics.enable=true
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
# Expired segments are deleted at this interval (Kafka's default: 5 minutes). The fault matrix's
# projector:outlive-retention shrinks a topic's retention for seconds and needs them gone soon;
# the check itself only compares segment timestamps, so a few seconds cost nothing.
log.retention.check.interval.ms=5000
"""


def kafka_home(settings: Settings) -> Path:
    return settings.cache_dir / f"kafka-{KAFKA_VERSION}"


def ensure_jars(settings: Settings) -> Path:
    """The directory holding the broker's jars (resolved from Maven Central once)."""
    props = {"kafka.version": KAFKA_VERSION}
    pom = HERE / "pom.xml"
    home = maven_copy_dependencies(pom, kafka_home(settings), settings.cache_dir, **props)
    return home / "libs"


async def health(settings: Settings) -> bool:
    host, port = host_port(settings.kafka_bootstrap, DEFAULT_KAFKA_PORT)
    if not port_open(host, port):
        return False
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        return bool(cluster.get("brokers"))
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


async def version(settings: Settings) -> str | None:
    """The version of the jars the native broker runs (the wire protocol does not say)."""
    if not await health(settings):
        return None
    if not is_local_default(settings.kafka_bootstrap, DEFAULT_KAFKA_PORT):
        return "unknown (external)"
    recorded = service_paths(settings, "kafka").root / "version"
    try:
        return recorded.read_text().strip()
    except OSError:
        return KAFKA_VERSION


def format_command(properties: Path, cluster_id: str) -> list[str]:
    """StorageTool's arguments; `--cluster-id=` because a random id may start with '-'."""
    return [
        "kafka.tools.StorageTool",
        "format",
        f"--cluster-id={cluster_id}",
        "-c",
        str(properties),
    ]


def _cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


async def start(settings: Settings) -> int:
    paths = service_paths(settings, "kafka")
    java = java_bin()
    libs = ensure_jars(settings)
    data = paths.root / "data"
    paths.root.mkdir(parents=True, exist_ok=True)
    properties = paths.root / "server.properties"
    properties.write_text(
        SERVER_PROPERTIES.format(
            port=DEFAULT_KAFKA_PORT,
            controller_port=DEFAULT_KAFKA_CONTROLLER_PORT,
            data=data,
            partitions=settings.kafka_partitions,
        )
    )
    log4j = f"-Dlog4j2.configurationFile={HERE / 'log4j2.properties'}"
    classpath = f"{libs}/*"
    if not (data / "meta.properties").exists():
        shutil.rmtree(data, ignore_errors=True)
        fmt = format_command(properties, _cluster_id())
        run(
            [java, "-Xmx256m", log4j, "-cp", classpath, *fmt],
            what="formatting Kafka storage",
        )
    host, port = host_port(settings.kafka_bootstrap, DEFAULT_KAFKA_PORT)
    ensure_port_free(host, port, "kafka")
    ensure_port_free("127.0.0.1", DEFAULT_KAFKA_CONTROLLER_PORT, "kafka (controller)")
    (paths.root / "version").write_text(KAFKA_VERSION + "\n")
    argv = [
        java,
        *HEAP,
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        log4j,
        "-cp",
        classpath,
        "kafka.Kafka",
        str(properties),
    ]
    return start_detached(argv, paths, cwd=paths.root)


register_service(
    Service(
        name="kafka",
        url=lambda s: s.kafka_bootstrap,
        health=health,
        version=version,
        start=start,
        managed=lambda s: is_local_default(s.kafka_bootstrap, DEFAULT_KAFKA_PORT),
        ports=lambda _s: [DEFAULT_KAFKA_PORT, DEFAULT_KAFKA_CONTROLLER_PORT],
        start_timeout=120.0,
        stop_timeout=45.0,
        background=True,
    )
)
