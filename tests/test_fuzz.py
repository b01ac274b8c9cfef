"""Fuzz the API from its own OpenAPI document: no 5xx, and every response matches the schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.schemas import APIOperation

from index.store import StoreConfig
from service.http.routes import documented
from service.web.app import BLUEPRINTS, create_app

OPERATIONS = [f"{r.method.upper()} {r.path}"
              for r in documented({bp.name: bp for bp in BLUEPRINTS})]


@pytest.fixture(scope="module")
def operations(default_index: StoreConfig,
               tmp_path_factory: pytest.TempPathFactory) -> dict[str, APIOperation]:
    """Load /openapi.json from the app itself (WSGI, no network); return its operations.

    The fuzzed feedback goes to a file of its own, not into the session's shared index folder.
    """
    feedback = tmp_path_factory.mktemp("fuzz") / "feedback.sqlite3"
    app = create_app({"data_dir": default_index.data_dir, "collection": default_index.collection,
                      "feedback_db": feedback}, load_sync=True)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    return {op.label: op for op in (r.ok() for r in schema.get_all_operations())}


@pytest.mark.parametrize("label", OPERATIONS)
def test_api_conforms_to_its_schema(operations: dict[str, APIOperation], label: str) -> None:
    @given(case=operations[label].as_strategy())
    @settings(max_examples=10, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate()

    fuzz()
