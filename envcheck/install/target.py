"""Install targets from a machine: the detection half of choosing.

One way to build a target, with one precedence: **flags, then environment, then detection**.

* Detection: :func:`from_machine` reads a :class:`~envcheck.facts.machine.Machine`, the same one
  ``envcheck diagnose`` reads (this machine through the quick probes, or a ``--facts`` file:
  :func:`machine_for`).
* Environment: ``ENVCHECK_DRIVER_VERSION`` and ``ENVCHECK_COMPUTE_CAPABILITY`` stand for
  ``--driver`` and ``--compute-capability`` (for image builds that run where the GPU is not, as
  uv's ``UV_CUDA_DRIVER_VERSION`` does); the CLI reads them as the options' ``envvar``.
* Flags: :meth:`envcheck.install.choose.Target.with_flags` lays what the user typed over the
  detected target. A driver or GPU given (by flag or environment) describes another machine, so
  the detected driver and GPUs are dropped, not mixed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from envcheck.install.choose import Choice, Target
from envcheck.matrix.variants import parse_cc

if TYPE_CHECKING:  # pragma: no cover
    from envcheck.facts.machine import Machine
    from envcheck.matrix.store import Matrix

__all__ = ["from_machine", "machine_for", "TargetOptions", "resolve"]


@dataclass(frozen=True)
class TargetOptions:
    """What the user said about the machine to install for (``install-command``, ``requirements``).

    ``python`` is an interpreter (a PATH) whose Python version (and, when detecting, whose torch)
    the target takes; ``python_version`` a target's Python (``"3.11"``, ``"any"``). Cross-option
    rules are checked here, without click.
    """

    cuda: Optional[str] = None
    rocm: Optional[str] = None
    cpu: bool = False
    driver: Optional[str] = None
    ccs: Tuple[str, ...] = ()
    python: Optional[str] = None
    python_version: Optional[str] = None
    os_name: Optional[str] = None
    torch: Optional[str] = None
    strict_driver: bool = False
    facts_file: Optional[str] = None
    manager: str = "pip"

    def __post_init__(self) -> None:
        from envcheck.errors import InputError

        if self.facts_file and self.python:
            raise InputError("--facts describes a recorded machine: --python (an interpreter here) does not apply; "
                             "give its Python as --python-version")

    @property
    def described(self) -> bool:
        """A driver, GPU or build given: the target is described, not detected."""
        return bool(self.driver or self.ccs or self.cuda or self.rocm or self.cpu)

    def flags(self, python_version: Optional[str] = None) -> Dict[str, Any]:
        return dict(cuda=self.cuda, rocm=self.rocm, cpu=self.cpu, driver=self.driver, ccs=tuple(self.ccs),
                    python=self.python_version or python_version, os_name=self.os_name, torch=self.torch,
                    strict_driver=self.strict_driver, manager=self.manager)


def resolve(matrix: "Matrix", opts: TargetOptions) -> Choice:
    """The target (detected from this machine, a ``--facts`` file or a ``--python`` interpreter,
    or described by the flags) and the choice for it."""
    from envcheck.install import choose as ch

    if opts.facts_file or not opts.described:
        if opts.facts_file:
            source = f"facts {opts.facts_file}"
        else:
            source = f"this machine, the interpreter {opts.python}" if opts.python else "this machine"
        t = from_machine(machine_for(opts.facts_file, python=opts.python), source=source).with_flags(**opts.flags())
    elif opts.python:  # a described machine, with the Python of this interpreter
        t = ch.target_from_options(**opts.flags(python_of(opts.python)))
    else:
        t = ch.target_from_options(**opts.flags())
    return ch.choose(matrix, t)


def python_of(python: str) -> Optional[str]:
    """An interpreter's "X.Y", read the way diagnose reads it (its torch's static reader)."""
    return machine_for(python=python).python


def from_machine(machine: "Machine", *, source: str = "this machine") -> Target:
    """The install target a machine is: its OS, Python, driver and GPUs, and what detection found
    in words (for ``install-command``'s explanation)."""
    from envcheck.matrix.variants import parse_driver

    driver = machine.facts.driver
    detected: list[str] = []
    gpus, names = [], []
    for g in machine.gpus:
        if g.compute_capability:
            try:
                gpus.append(parse_cc(g.compute_capability))
            except ValueError:
                continue
            names.append(g.name or "")
    version = driver.version
    if version is not None:
        try:
            parse_driver(version)
        except ValueError:
            detected.append(f"driver version {version!r} is not one envcheck can compare; treated as unknown")
            version = None
    # GPUs listed (by NVML, by nvidia-smi when NVML failed, or seen by torch) make an NVIDIA machine even when
    # the driver's version or a GPU's compute capability could not be read.
    listed = len(machine.gpus) or len(driver.smi.gpus if driver.smi is not None else ())
    if version is None and not detected:
        why = driver.detail or driver.error_code or "not found"
        if listed:
            detected.append(f"{listed} NVIDIA GPU(s) listed, but the driver's version could not be read: {why}")
        elif driver.status in ("failed", "timed-out"):  # a driver is there but broken: not a CPU machine
            detected.append(f"an NVIDIA driver that does not answer (`envcheck diagnose` says why): {why}")
        elif machine.facts.host.nvidia_pci_gpus:  # the hardware is there, the driver is not
            pci = machine.facts.host.nvidia_pci_gpus
            detected.append(f"{len(pci)} NVIDIA GPU(s) on the PCI bus but no NVIDIA driver (install it): {why}")
        else:
            detected.append(f"no NVIDIA driver: {why}")
    nvcc = next((tk.release for tk in machine.facts.nvcc.toolkits if tk.release), None)
    if nvcc:
        detected.append(
            f"nvcc {nvcc} found: that is a CUDA toolkit for compiling, not a driver; "
            "alone it does not make a GPU usable"
        )
    return Target(
        os=machine.os,
        python=machine.python,
        driver=version,
        driver_cuda=machine.driver_cuda,
        gpus=tuple(gpus),
        gpu_names=tuple(names),
        source=source,
        detected=tuple(detected),
        # An NVIDIA machine, or one whose driver could not be read while a CUDA build of torch is
        # installed: never sent to a CPU build.
        nvidia_present=version is not None or bool(gpus) or bool(listed) or machine.gpu_build_wanted,
    )


def machine_for(facts_file: Optional[str] = None, python: Optional[str] = None) -> "Machine":
    """The machine a command without a described target installs for: a ``--facts`` file (a bare
    snapshot or a ``--json`` envelope), else this machine through the quick probes, exactly as
    ``envcheck diagnose --quick`` sees it (with ``python``: as ``diagnose --quick --python``
    sees that interpreter)."""
    from envcheck.facts import load_facts
    from envcheck.facts.machine import Machine

    if facts_file:
        return Machine.from_facts(load_facts(facts_file))
    from envcheck.probes import collect_checked

    return Machine.from_facts(collect_checked(quick=True, python=python))
