#!/bin/sh
# Runs once, on an empty data directory, as the image's superuser (`postgres`).
# cqrs_owner owns the database and runs migrations; cqrs, the application role, gets LOGIN and
# read-only statistics only (the tables' grants come from `cqrs-bench db migrate`).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_password="${CQRS_PG_OWNER_PASSWORD:-cqrs}" -v app_password="${CQRS_PG_PASSWORD:-cqrs}" <<'SQL'
CREATE ROLE cqrs_owner LOGIN CREATEDB CREATEROLE PASSWORD :'owner_password';
CREATE ROLE cqrs LOGIN NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
GRANT pg_read_all_stats TO cqrs;
CREATE DATABASE cqrs OWNER cqrs_owner;
SQL
