#!/bin/sh
# Temporal's databases and schema on PostgreSQL, with the admin-tools image's temporal-sql-tool
# (as Temporal's own compose samples do: github.com/temporalio/samples-server, compose/). Safe to
# re-run: an existing database is kept, and update-schema applies only the versions it lacks, so
# bumping TEMPORAL_VERSION upgrades the schema on the next `docker compose up`.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
tool() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "${DB_PORT:-5432}" "$@"; }
for db in temporal temporal_visibility; do
  dir=$([ "$db" = temporal ] && echo temporal || echo visibility)
  tool --db "$db" create || echo "database $db exists"
  # setup-schema -v 0.0 only creates the version table; it fails harmlessly when it is there already.
  tool --db "$db" setup-schema -v 0.0 || true
  tool --db "$db" update-schema -d "/etc/temporal/schema/postgresql/v12/$dir/versioned"
done
echo 'Temporal schema is up to date'
