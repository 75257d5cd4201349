"""pip install of python/ bundles the library it was built with: the
installed package imports from anywhere without MYNN_LIBRARY; a bad
MYNN_LIBRARY is a clear ImportError."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT


def run_py(code, cwd, env_extra=None, drop=("MYNN_LIBRARY", "PYTHONPATH")):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True)


def test_pip_install_and_import(tmp_path):
    if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode != 0:
        pytest.skip("pip absent (apt-get install python3-pip)")
    if not os.path.exists(os.path.join(ROOT, "build", "libmynn.so")):
        pytest.skip("build/libmynn.so not built")
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps",
                        "--no-cache-dir", "--quiet", "--target", str(target), os.path.join(ROOT, "python")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (target / "mynn" / "libmynn.so").exists()
    code = ("import mynn, numpy as np; net = mynn.Net(inputs=2, layers='3:relu,2:softmax');"
            "print(mynn.library_path); print(net.predict(np.ones((1, 2))).shape)")
    r = run_py(code, str(tmp_path), {"PYTHONPATH": str(target)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(target / "mynn" / "libmynn.so"), "(1,", "2)"]


def test_bad_library_path(tmp_path):
    r = run_py("import mynn", str(tmp_path), {"PYTHONPATH": os.path.join(ROOT, "python"),
                                             "MYNN_LIBRARY": str(tmp_path / "nope.so")})
    assert r.returncode != 0 and "ImportError: mynn: cannot load libmynn" in r.stderr
    assert "nope.so (absent)" in r.stderr
