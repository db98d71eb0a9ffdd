"""Test-data factories, one module per domain: `from tests.factories import UserFactory`.

`await UserFactory.create_async(name="Ada")` and `await UserFactory.create_batch_async(50)`
add rows in the running test's transaction (tests/harness/factories.py); `.build()` makes one
without saving it. Values follow the API's own rules, so a row a factory made can be sent back
through the API.
"""

from tests.factories.users import UserFactory

__all__ = ["UserFactory"]
