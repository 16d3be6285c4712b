"""Lets the suite import the package from this checkout without installing it; with
KERNEST_TEST_INSTALLED=1 (scripts/pip-check) it runs against the pip-installed package instead."""
import os
import sys

if not os.environ.get("KERNEST_TEST_INSTALLED"):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
