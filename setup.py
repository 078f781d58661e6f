"""Build Akuma: every crate's Python package plus its Cython extensions.

Each crate lives in crates/<name>/akuma/<name>/ and is installed as the
package ``akuma.<name>``.  Cython extensions (``*.pyx`` beside the Python they
speed up) compile against the headers and ``libunicorn.so.2`` shipped inside
the unicorn wheel.  The wheel's location at build time (pip's isolated build
env) is not its location at run time, so the rpath is relative to the
installed extension ($ORIGIN/../../unicorn/lib) and ``akuma.arch`` imports
unicorn first, which makes the dynamic loader reuse the already loaded
library for editable installs too.
"""
import glob
import os

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
CRATES = sorted(
    name for name in os.listdir(os.path.join(HERE, "crates"))
    if os.path.isdir(os.path.join(HERE, "crates", name, "akuma", name))
)


def unicorn_paths():
    import unicorn
    root = os.path.dirname(unicorn.__file__)
    return os.path.join(root, "include"), os.path.join(root, "lib")


def extensions():
    include, lib = unicorn_paths()
    exts = []
    for crate in CRATES:
        pkg_dir = os.path.join("crates", crate, "akuma", crate)
        for pyx in sorted(glob.glob(os.path.join(pkg_dir, "**", "*.pyx"), recursive=True)):
            rel = os.path.splitext(os.path.relpath(pyx, pkg_dir))[0]
            exts.append(Extension(
                f"akuma.{crate}." + rel.replace(os.sep, "."),
                [pyx],
                include_dirs=[include],
                library_dirs=[lib],
                # libunicorn.so.2 has no plain .so symlink in the wheel.
                extra_link_args=[
                    "-l:libunicorn.so.2",
                    # Installed layout: site-packages/akuma/<crate>/x.so next
                    # to site-packages/unicorn/lib.  (Editable installs rely on
                    # akuma.arch importing unicorn first.)
                    "-Wl,-rpath,$ORIGIN/../../unicorn/lib",
                ],
                extra_compile_args=["-O2", "-Wno-unused-function"],
            ))
    return exts


def cythonized():
    from Cython.Build import cythonize
    return cythonize(
        extensions(),
        language_level=3,
        include_path=[os.path.join("crates", c) for c in CRATES],
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )


def packages():
    """Every crate's package and its subpackages (akuma.kernel.syscalls...)."""
    found = []
    for crate in CRATES:
        root = os.path.join(HERE, "crates", crate, "akuma", crate)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            if "__init__.py" in filenames:
                rel = os.path.relpath(dirpath, root)
                found.append(f"akuma.{crate}" + ("" if rel == "." else "." + rel.replace(os.sep, ".")))
    return found


setup(
    packages=packages(),
    package_dir={f"akuma.{c}": os.path.join("crates", c, "akuma", c) for c in CRATES},
    package_data={f"akuma.{c}": ["*.pxd"] for c in CRATES},
    ext_modules=cythonized(),
    zip_safe=False,
)
