#!/usr/bin/env bash
# Start the machine's PostgreSQL server and make the role and database the tests use.
# Prints the SQLAlchemy URL to export as PYROS_TEST_POSTGRES_URL. Idempotent.
set -euo pipefail

service postgresql start >/dev/null
for _ in $(seq 1 50); do
  if runuser -u postgres -- pg_isready -q -h 127.0.0.1 -p 5432; then break; fi
  sleep 0.2
done
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -d postgres <<'SQL' >/dev/null
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pyros') THEN
    CREATE ROLE pyros LOGIN PASSWORD 'pyros' CREATEDB;
  END IF;
END $$;
-- The tests drop their databases WITH (FORCE), which ends leftover sessions (even autovacuum's).
GRANT pg_signal_backend TO pyros;
SQL
if ! runuser -u postgres -- psql -tA -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'pyros_test'" | grep -q 1; then
  runuser -u postgres -- createdb -O pyros pyros_test
fi
echo "postgresql+psycopg://pyros:pyros@127.0.0.1:5432/pyros_test"
