"""Prefect's API clients in one creditflow process share one verified TLS context
(flows/prefect_home.py share_tls_context): Prefect 3.8 loads the whole CA bundle for every
client it builds, four times a month inside `serve`. These tests pin the sharing and that
no client's verification is weakened by it."""

import ssl

import prefect.client.orchestration as orchestration
import pytest
from prefect.client.orchestration import get_client
from prefect.settings import (
    PREFECT_API_TLS_INSECURE_SKIP_VERIFY,
    PREFECT_API_URL,
    temporary_settings,
)

from flows import prefect_home

# a client is built, never used: nothing listens here
API = "http://127.0.0.1:9/api"


@pytest.fixture
def contexts_built(monkeypatch):
    """The TLS contexts built from here on, with a fresh share installed over Prefect's."""
    built = []
    real = ssl.create_default_context

    def counting(*args, **kwargs):
        built.append(real(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(ssl, "create_default_context", counting)
    monkeypatch.setattr(orchestration, "ssl", ssl)  # as Prefect has it, before the share
    prefect_home.share_tls_context()
    return built


def test_prefect_clients_in_one_process_share_one_verified_context(contexts_built):
    with temporary_settings(updates={PREFECT_API_URL: API}):
        get_client()
        get_client(sync_client=True)
        get_client()
    assert len(contexts_built) == 1
    (shared,) = contexts_built
    assert shared.verify_mode == ssl.CERT_REQUIRED
    assert shared.check_hostname


def test_an_insecure_client_gets_its_own_context_and_leaves_the_shared_one_verified(
    contexts_built,
):
    with temporary_settings(updates={PREFECT_API_URL: API}):
        get_client()
        with temporary_settings(updates={PREFECT_API_TLS_INSECURE_SKIP_VERIFY: True}):
            get_client()
            get_client()
        get_client()
    verified, *insecure = contexts_built
    assert len(insecure) == 2  # Prefect turns verification off on each: never shared
    assert all(c.verify_mode == ssl.CERT_NONE for c in insecure)
    assert verified.verify_mode == ssl.CERT_REQUIRED
    assert verified.check_hostname


def test_the_flows_share_the_context_once_imported():
    import flows.instruments
    import flows.settlement  # noqa: F401

    assert isinstance(orchestration.ssl, prefect_home._SharedVerifiedContexts)
    prefect_home.share_tls_context()  # again: not wrapped twice
    assert isinstance(orchestration.ssl._ssl, type(ssl))
