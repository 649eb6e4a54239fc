#!/usr/bin/env bash
# What `make test` and `make bench` need on a fresh Debian 12 machine, installed only when
# missing: PostgreSQL 15, Prometheus, the Pushgateway, docker-compose (to validate the compose
# file), curl, unzip, Java 17, Maven, e2fsprogs, and uv. Safe to run again: a second run
# installs nothing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=()
[[ -x /usr/lib/postgresql/15/bin/postgres ]] || need+=(postgresql-15)
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-pushgateway >/dev/null || need+=(prometheus-pushgateway)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v curl >/dev/null || need+=(curl)
command -v unzip >/dev/null || need+=(unzip)
command -v make >/dev/null || need+=(make)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
# A journaled image for Elasticsearch's data on a journal-less root (bench/stack/volume.py).
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)

if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing: ${need[*]}; install them with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]}"
  # Packages must not start their own daemons (5432, 9090, ...): we run private instances.
  created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  mkdir -p /etc/postgresql-common
  grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
    echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
  if ((created_policy)); then rm -f /usr/sbin/policy-rc.d; fi
fi

if ! command -v uv >/dev/null; then
  echo "setup: installing uv"
  python3 -m pip install -q uv || python3 -m pip install -q --break-system-packages uv
fi

