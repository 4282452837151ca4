"""keraslab's layers on the JAX backend (Keras 3 runs them unchanged there)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax")


def test_layers_run_on_the_jax_backend():
    script = Path(__file__).with_name("jax_backend_check.py")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "all checks passed" in result.stdout
