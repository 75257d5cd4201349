"""Bundles the libmynn.so built beside this folder (../build, or
$MYNN_LIBRARY) into the package, so an installed mynn finds the library it
was built with.  Build it first: make (at the repository root)."""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        lib = os.environ.get("MYNN_LIBRARY") or os.path.join(HERE, "..", "build", "libmynn.so")
        if not os.path.exists(lib):
            raise SystemExit("mynn: %s not found: run make at the repository root first "
                             "(or set MYNN_LIBRARY)" % lib)
        dest = os.path.join(self.build_lib, "mynn")
        os.makedirs(dest, exist_ok=True)
        shutil.copyfile(lib, os.path.join(dest, "libmynn.so"))


setup(cmdclass={"build_py": BuildWithLibrary})
