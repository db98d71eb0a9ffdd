"""The models of the service, importable from one place (`from src.models import User`).

Migrations and the tests do not need this list: they import every domain's models.py
(src/discovery.py). A service generated before discovery lists its models here; keep it so.
"""

from src.users.models import User

__all__ = ["User"]
