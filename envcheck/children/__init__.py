"""What runs inside the target interpreter: the standard library and torch, nothing else.

Every child is a real module here with a ``main(argv) -> int``, started one way:
:func:`envcheck.proc.run_child` runs ``python envcheck/children/__runner__.py NAME ARGS`` in the
interpreter being inspected, which may not have envcheck installed. The runner applies the one
``sys.path`` policy (:mod:`envcheck.children.syspath`: the script's folder and the working
directory left out, as ``python -P`` does), makes ``envcheck`` importable from this checkout
only, and runs the module as ``__main__``. Every child speaks the one framing of
:mod:`envcheck.children.events`.

Children:

``torch_static``   torch and its family as installed, read without importing them
``torch_runtime``  ``import torch``: build, ``is_available``, archs, libraries, where it came from
``inventory``      every distribution and whether installing there is safe (``envcheck fix``)
``verify_device``  verify's correctness checks and performance measurements on one device
``verify_multi``   verify's peer-to-peer copies and one all-reduce rank
``nvml_driver``    the driver and GPUs through NVML (in envcheck's own interpreter: a crash in
                   ``libnvidia-ml`` kills this child, not envcheck)

Shared by them: :mod:`~envcheck.children.checks` (verify's check machinery) and
:mod:`~envcheck.children.timing` (matmul and copy timing).
"""

NAMES = ("torch_static", "torch_runtime", "inventory", "verify_device", "verify_multi", "nvml_driver")
