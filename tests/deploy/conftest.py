"""
Shared by the deploy checks: where the repository and the binaries are, and
the `slow` marker (tests that build the container image; opt-in with
NUDGE_TEST_IMAGE=1, see README.md here).
"""


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "slow: builds and runs the container image (minutes); runs only with NUDGE_TEST_IMAGE=1")
