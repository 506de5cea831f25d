"""envcheck: make PyTorch + CUDA installs boring.

Importing this package is cheap on purpose: it imports nothing else. Commands load the
compatibility matrix, probes and renderers lazily, and torch only ever runs in a child process.

The library API is loaded on first use (PEP 562), each name the function the CLI itself calls:

* ``collect(quick=False, python=None, timeout=None) -> Facts``: probe this machine;
* ``load_facts(path) -> Facts``: a snapshot (``envcheck facts --json``) or a ``--json`` envelope;
* ``load_matrix() -> Matrix``: the compatibility data in use (shipped, or refreshed);
* ``diagnose(facts, matrix) -> Diagnosis``: the findings;
* ``choose(matrix, target) -> Choice``: the build to install for a target;
* ``run_node(thresholds, ...) -> NodeReport``: preflight on this node;
* verify is the subpackage of that name: ``envcheck.verify.verify(devices=(), perf=False, ...)``.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "collect", "load_facts", "load_matrix", "diagnose", "choose", "run_node"]

# name -> (module, attribute): imported when first asked for
_API = {
    "collect": ("envcheck.probes", "collect"),
    "load_facts": ("envcheck.facts", "load_facts"),
    "load_matrix": ("envcheck.matrix.store", "load"),
    "diagnose": ("envcheck.rules", "diagnose"),
    "choose": ("envcheck.install.choose", "choose"),
    "run_node": ("envcheck.preflight.node", "run_node"),
}


def __getattr__(name):
    if name in _API:
        import importlib

        module, attr = _API[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError("module 'envcheck' has no attribute {!r}".format(name))


def __dir__():
    return sorted(set(globals()) | set(_API))
