"""Finding a Java runtime for the JVM services (Kafka, Elasticsearch)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bench.stack.process import StackError

CANDIDATES = (
    "/usr/lib/jvm/java-17-openjdk-amd64",
    "/usr/lib/jvm/java-17-openjdk-arm64",
    "/usr/lib/jvm/temurin-17-jdk-amd64",
    "/usr/lib/jvm/temurin-21-jdk-amd64",
    "/usr/lib/jvm/temurin-25-jdk-amd64",
)


def java_home() -> Path:
    """A JDK/JRE home with Java 17+: $CQRS_JAVA_HOME, a known 17+ install, then `java` on PATH."""
    explicit = os.environ.get("CQRS_JAVA_HOME")
    if explicit:
        home = Path(explicit)
        if (home / "bin" / "java").exists():
            return home
        raise StackError(f"CQRS_JAVA_HOME={explicit} has no bin/java.")
    for candidate in CANDIDATES:
        if (Path(candidate) / "bin" / "java").exists():
            return Path(candidate)
    on_path = shutil.which("java")
    if on_path:
        return Path(on_path).resolve().parent.parent
    raise StackError(
        "Java 17 is missing (Kafka and Elasticsearch need it): "
        "`apt-get install -y openjdk-17-jre-headless`, or set CQRS_JAVA_HOME to a JDK 17+ home."
    )


def java_bin() -> str:
    return str(java_home() / "bin" / "java")
