"""Settings of worker processes whose clock a test moves (see tests/timetravel.py)."""

from config.settings import *  # noqa: F403 - the real settings, unchanged
from tests.timetravel import install_from_env

install_from_env()
