"""Property-based tests of the API with Hypothesis's `@given`."""

import string
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from httpx import AsyncClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.owner_patterns.helpers import USERS, emails

NAMES = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=12)


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    max_examples=5,
    database=None,
    deadline=None,  # the first example also warms the app's code paths up
)
@given(name=NAMES)
async def test_each_example_is_rolled_back_with_isolated_example(
    async_client: AsyncClient,
    isolated_example: Callable[[], AbstractAsyncContextManager[None]],
    name: str,
) -> None:
    """https://hypothesis.readthedocs.io/en/latest/reference/api.html#hypothesis.HealthCheck.function_scoped_fixture
    and https://github.com/HypothesisWorks/hypothesis/issues/3779 (per-example setup "via a
    context manager"): each example starts from an empty table, rows never pile up."""
    async with isolated_example():
        response = await async_client.post(
            USERS, json={"email": f"{name}@example.com", "name": name}
        )
        assert response.status_code == 201
        assert await emails(async_client) == [f"{name}@example.com"]


@settings(max_examples=2, database=None, deadline=None)
@given(name=NAMES)
async def test_given_with_function_scoped_fixtures_shows_the_health_check(
    async_client: AsyncClient, name: str
) -> None:
    """Owner mistake, https://github.com/HypothesisWorks/hypothesis/issues/2733: the fixtures
    are set up once for all examples; Hypothesis's plugin (kept on by pytest.ini) says so."""
    response = await async_client.post(USERS, json={"email": f"{name}@example.com", "name": name})
    assert response.status_code == 201
