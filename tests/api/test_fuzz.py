"""Schemathesis over every operation in /openapi.json: no input gives a server error.

Bounded (FUZZ_EXAMPLES per operation, derandomized so a failure repeats) to keep the suite's
time; the issue's long run was 10,788 cases.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

pytestmark = [pytest.mark.integration, pytest.mark.api]

FUZZ_EXAMPLES = 30


@pytest.fixture(scope="module")
def api_schema(api_server):
    """The running server's own OpenAPI document."""
    return schemathesis.openapi.from_url(f"{api_server.url}openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_gives_a_server_error(case) -> None:
    case.call_and_validate(checks=[not_a_server_error], timeout=60)
