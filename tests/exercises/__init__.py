"""Tests of ``vae_utils.exercises``, one file per module. A package, so that the test files
import their shared helpers (``from .helpers import ...``) under every pytest import mode."""
