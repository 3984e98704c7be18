"""Builds starface's Python module with CMake (-DSTARFACE_PYTHON=ON, target _starface) and
puts it into the starface package. See pyproject.toml for the offline pip command.

Env: STARFACE_CMAKE_ARGS (extra configure flags, e.g. -DCMAKE_CXX_COMPILER_LAUNCHER=ccache),
STARFACE_CMAKE_BUILD_DIR (build _starface in this already configured build folder, e.g. the
repo's build/ made with -DSTARFACE_PYTHON=ON, instead of configuring a fresh one)."""
import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        reuse = os.environ.get("STARFACE_CMAKE_BUILD_DIR")  # an already configured build
        build = pathlib.Path(reuse or pathlib.Path(self.build_temp).resolve() / "cmake")
        build.mkdir(parents=True, exist_ok=True)
        configure = ["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                     "-DSTARFACE_PYTHON=ON", "-DSTARFACE_TESTS=OFF",
                     f"-DPython_EXECUTABLE={sys.executable}"]
        if shutil.which("ninja"):
            configure += ["-G", "Ninja"]
        configure += os.environ.get("STARFACE_CMAKE_ARGS", "").split()
        if not reuse:
            subprocess.run(configure, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", str(build), "--target", "_starface", "-j", jobs],
                       check=True)
        built = next((build / "python" / "starface").glob("_starface*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, target)


setup(
    packages=["starface"],
    package_dir={"starface": "python/starface"},
    ext_modules=[Extension("starface._starface", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
