"""The integration-test harness. Owned by the project template: `copier update` keeps these
files current, so put your own fixtures in tests/conftest.py rather than editing them here.

Loading it first checks that the project still has what the harness needs
(tests/harness/contract.py): otherwise the run stops here with one line saying what is missing.
"""

import pytest

from tests.harness.contract import ContractError, check_project

try:
    check_project()
except ContractError as error:
    raise pytest.UsageError(str(error)) from None
