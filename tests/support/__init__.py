"""Helpers shared by the tests: data, servers, processes. Fixtures are in `fixtures.py` (a pytest plugin)."""
