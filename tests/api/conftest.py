from tests.subscriptions.api_support import api_key_fixture  # noqa: F401 - the `api_key` fixture
