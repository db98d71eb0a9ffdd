"""The patterns' own tables, beside the sample domain's `users`: created by a session-scoped
fixture (conftest.py), not by the migrations, as an owner's reference data would be."""

from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.schema import CreateTable

PATTERN_TABLES = MetaData()

# A balance that two withdrawals race for (SELECT ... FOR UPDATE).
accounts = Table(
    "pattern_accounts",
    PATTERN_TABLES,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("owner", String(50), nullable=False),
    Column("balance", Integer, nullable=False),
)

# What the app writes beside a request's own session: audit rows.
audit_log = Table(
    "pattern_audit_log",
    PATTERN_TABLES,
    Column("id", Integer, primary_key=True),
    Column("event", String(200), nullable=False),
)

# CREATE TABLE IF NOT EXISTS, in dependency order.
CREATE_STATEMENTS = tuple(
    CreateTable(table, if_not_exists=True) for table in PATTERN_TABLES.sorted_tables
)

# The row of alembic_version that the session-scoped reference data commits; any other probe
# (the patterns' probes start with "pattern-") left there is a leak.
REFERENCE_PROBE = "pattern-reference-data"
PROBE_PREFIX = "pattern-"
