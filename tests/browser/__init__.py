"""Real-browser tests (see conftest.py). A package, so its conftest does not shadow tests/conftest.py
for the test modules that import helpers from it (``from conftest import ...``)."""
