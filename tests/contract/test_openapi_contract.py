"""The API keeps the contract it publishes: schemathesis reads the live schema from a running
server and sends generated requests to every operation, authenticated as an agency admin.
No answer may be a 5xx, and every answer (status, content type, body) must match the schema.

Bounded for CI: a few examples per operation (CONTRACT_EXAMPLES) and a time cap
(CONTRACT_MAX_SECONDS) for the whole run."""

import os
import subprocess
import sys

import pytest

from ..builders import make_task
from ..factories import SubAccountFactory

EXAMPLES = os.environ.get("CONTRACT_EXAMPLES", "4")
MAX_SECONDS = os.environ.get("CONTRACT_MAX_SECONDS", "80")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


@pytest.fixture
def admin_token(transactional_db):
    from ..conftest import _make_world

    world = _make_world("alpha-mcn")
    with world.scope():
        for i in range(3):
            SubAccountFactory(agency=world.agency, platform_account_id=f"contract_{i}")
        make_task(world)
    from accounts.security import api_token_create

    _token, raw = api_token_create(user=world.users["admin"], agency=world.agency, name="contract", scope="role")
    return world, raw


@pytest.mark.contract
def test_every_answer_matches_the_published_schema(live_server, admin_token, tmp_path):
    world, token = admin_token
    config = tmp_path / "schemathesis.toml"
    config.write_text(f'[parameters]\n"path.agency_slug" = "{world.agency.slug}"\n', encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
         f"{live_server.url}/api/v1/schema/", "-H", f"Authorization: Bearer {token}", "-H", "Accept-Language: en",
         "--checks", CHECKS, "--max-examples", EXAMPLES, "--max-time", MAX_SECONDS, "--seed", "12",
         "--phases", "examples,coverage,fuzzing", "--generation-deterministic", "--no-shrink",
         "--request-timeout", "20", "--no-color", "--warnings", "off", "--workers", "1"],
        capture_output=True, text=True, timeout=int(MAX_SECONDS) + 60, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-15000:] + run.stderr[-3000:]
