from tests.integration.fleet import fleet  # noqa: F401 - the session fixture
