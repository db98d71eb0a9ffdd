from uuid import uuid4

from polyfactory import Use

from src.users.models import User
from tests.harness.factories import Factory


class UserFactory(Factory[User]):
    __model__ = User

    # Unique, lower case and deliverable-looking, as the API stores them.
    email = Use(lambda: f"user-{uuid4().hex[:12]}@example.com")
    name = Use(Factory.__faker__.name)
