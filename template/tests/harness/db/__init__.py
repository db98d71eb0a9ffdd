"""The test database: which one, its guard and lifecycle (database.py), its migrated schema
(migrations.py, schema_image.py), the throwaway PostgreSQL server (throwaway_postgres.py), the
app's engine that lends each test its connection (shared_connection.py), what the running test
works with (current.py) and connections to it beside the harness (escapes.py)."""
