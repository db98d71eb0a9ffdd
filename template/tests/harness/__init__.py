"""The integration-test harness. Owned by the project template: `copier update` keeps these
files current, so put your own fixtures in tests/conftest.py rather than editing them here.

Loading it first checks that the project still has what the harness needs
(tests/harness/contract.py): otherwise the run stops here with one line saying what is missing.
Settings the app refuses (src/config.py, from the environment or .env) stop it with one line too.
"""

import gc
import sys

# Under pytest, garbage collection is off until the tests are collected (fixtures.py's
# pytest_collection turns it back on): importing the app, its libraries and the test modules
# makes hundreds of thousands of objects and no garbage, and the collector's passes over them
# would be a tenth of a one-test run.
if "pytest" in sys.modules:
    gc.disable()

import pytest
from pydantic import ValidationError

from tests.harness.contract import ContractError, check_project


def settings_problems(error: ValidationError) -> str:
    """The settings' errors on one line: `DATABASE_URL uses postgresql:// without ...`."""
    problems = []
    for problem in error.errors():
        message = str(problem["msg"]).removeprefix("Value error, ")
        variable = "_".join(str(part) for part in problem["loc"]).upper()
        problems.append(message if message.startswith(variable) else f"{variable}: {message}")
    return f"The app's settings are invalid: {'; '.join(problems)}."


try:
    check_project()
except ContractError as error:
    raise pytest.UsageError(str(error)) from None
except ValidationError as error:
    raise pytest.UsageError(settings_problems(error)) from None
