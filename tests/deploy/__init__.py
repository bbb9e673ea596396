"""Deploy checks (a package, so its conftest never shadows tests/blackbox/conftest.py)."""
