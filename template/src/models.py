"""Every model module, imported once so `Base.metadata` knows every table.

Migrations (`migrations/env.py`) and the test schema read `Base.metadata`: add each new
domain's models module here.
"""

from src.users.models import User

__all__ = ["User"]
