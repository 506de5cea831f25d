"""Start one envcheck child inside the interpreter being inspected (the pattern of pip's
``__pip-runner__.py``).

    python /path/to/envcheck/children/__runner__.py NAME [ARGS...]

That interpreter may not have envcheck installed, or may have another version of it. The runner:

1. drops the folder Python put first on ``sys.path`` for this script (the ``sys.path`` policy of
   :mod:`envcheck.children.syspath`: nothing from the script's folder or the working directory);
2. makes ``envcheck`` importable from the checkout this file belongs to, and from nowhere else,
   with a finder placed before every other;
3. runs ``envcheck.children.NAME`` as ``__main__`` with ``sys.argv = [NAME, ARGS...]``.

Standard library only, and nothing here but the bootstrap: the children are real modules.
"""

import importlib.util
import os
import runpy
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(os.path.dirname(_HERE))  # the folder that holds the envcheck package


class _EnvcheckFinder(object):
    """Finds the top-level ``envcheck`` package in this checkout only; its submodules then come
    from its own folder as usual."""

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname != "envcheck":
            return None
        init = os.path.join(_ROOT, "envcheck", "__init__.py")
        return importlib.util.spec_from_file_location(
            "envcheck", init, submodule_search_locations=[os.path.join(_ROOT, "envcheck")])


def main():
    if sys.path and os.path.realpath(sys.path[0] or ".") == os.path.realpath(_HERE):
        del sys.path[0]  # the script's folder; under -P / PYTHONSAFEPATH it was never added
    sys.meta_path.insert(0, _EnvcheckFinder)
    from envcheck.children import NAMES

    if len(sys.argv) < 2 or sys.argv[1] not in NAMES:
        sys.stderr.write("usage: __runner__.py {%s} [ARGS...]\n" % ",".join(NAMES))
        return 2
    name = sys.argv[1]
    sys.argv = [name] + sys.argv[2:]
    runpy.run_module("envcheck.children." + name, run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
