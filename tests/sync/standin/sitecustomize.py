"""Installs tests/sync/standin_library.py as ``vauth.sync`` in a process started with this
directory (and the repository) on PYTHONPATH."""

import sys

from tests.sync import standin_library

sys.modules["vauth.sync"] = standin_library
