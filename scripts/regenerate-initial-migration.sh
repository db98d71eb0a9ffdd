#!/usr/bin/env bash
# Regenerates template/migrations/versions/0001_create_users.py from the models, after a change
# to them. Autogenerate runs on PostgreSQL, which (unlike SQLite) reflects every kind of index;
# the models use portable server defaults (CURRENT_TIMESTAMP), so the result runs on both.
#
#   eval "$(bash scripts/postgres.sh start)" && bash scripts/regenerate-initial-migration.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${META_POSTGRES_URL:?start PostgreSQL first: eval \"\$(bash scripts/postgres.sh start)\"}"

MIGRATION=migrations/versions/0001_create_users.py
work="$(mktemp -d)"
database="regenerate_$$"
server_url="${META_POSTGRES_URL%/*}"
trap 'psql -q "$META_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $database" >/dev/null; rm -rf "$work"' EXIT

python3 -m uv run --locked copier copy --quiet --defaults --vcs-ref HEAD \
    -d project_name=Regenerate -d database=postgresql . "$work/project"
rm "$work/project/$MIGRATION"
psql -q "$META_POSTGRES_URL" -c "CREATE DATABASE $database"
(
    cd "$work/project"
    DATABASE_URL="${server_url/postgresql:/postgresql+asyncpg:}/$database" \
        "$OLDPWD/.venv/bin/python" -m alembic revision --autogenerate --rev-id 0001 -m "create users"
)
cp "$work/project/$MIGRATION" "template/$MIGRATION"
echo "Regenerated template/$MIGRATION: review it (git diff) and run the meta-suite."
