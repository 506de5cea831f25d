"""Small stand-in wheels and a local package index, built by the tests for ``envcheck fix``.

A stand-in carries what envcheck and pip read (``METADATA`` with its ``Requires-Dist``,
``WHEEL``, ``RECORD``; torch's ``torch/version.py``) and nothing to run. The index is PEP 503
HTML in folders, read by pip through ``file://`` URLs: ``<root>/<build>/<project>/index.html``
as PyTorch lays out ``download.pytorch.org/whl/<build>/``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, Iterable, Mapping, Optional, Sequence


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(out: Path, name: str, version: str, *, requires: Sequence[str] = (),
                files: Optional[Mapping[str, str]] = None) -> Path:
    """``name-version-py3-none-any.whl`` in ``out``; ``files``: path in the wheel -> text."""
    dist = re.sub(r"[-.]+", "_", name)
    info = "{}-{}.dist-info".format(dist, version)
    contents: Dict[str, bytes] = {}
    for path, text in (files or {}).items():
        contents[path] = text.encode()
    meta = ["Metadata-Version: 2.1", "Name: " + name, "Version: " + version]
    meta += ["Requires-Dist: " + r for r in requires]
    contents[info + "/METADATA"] = ("\n".join(meta) + "\n").encode()
    contents[info + "/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: envcheck-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = ["{},{},{}".format(p, _record_hash(d), len(d)) for p, d in contents.items()]
    record.append(info + "/RECORD,,")
    contents[info + "/RECORD"] = ("\n".join(record) + "\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "{}-{}-py3-none-any.whl".format(dist, version)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for p, d in contents.items():
            z.writestr(p, d)
    return path


def torch_wheel(out: Path, version: str, cuda: Optional[str] = None) -> Path:
    """A stand-in torch: its ``version.py`` as the real one writes it (``cuda`` None for CPU)."""
    version_py = "__version__ = {!r}\ndebug = False\ncuda = {!r}\ngit_version = 'standin'\nhip = None\n".format(
        version, cuda)
    return build_wheel(out, "torch", version, files={
        "torch/__init__.py": "raise ImportError('a stand-in torch for envcheck tests')\n",
        "torch/version.py": version_py,
    })


_NMS = """import torch


def nms(boxes, scores, iou_threshold):
    \"\"\"Greedy non-maximum suppression in plain torch (what torchvision's compiled op computes).\"\"\"
    order = scores.argsort(descending=True).tolist()
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    for i in order:
        ok = True
        for j in keep:
            lt = torch.maximum(boxes[i, :2], boxes[j, :2])
            rb = torch.minimum(boxes[i, 2:], boxes[j, 2:])
            inter = (rb - lt).clamp(min=0).prod()
            if float(inter / (area[i] + area[j] - inter)) > iou_threshold:
                ok = False
                break
        if ok:
            keep.append(i)
    return torch.tensor(keep, dtype=torch.int64)
"""


def partner_wheel(out: Path, name: str, version: str, torch_pin: str, *, nms: bool = False) -> Path:
    """A stand-in torchvision/torchaudio pinned to ``torch==torch_pin``; ``nms``: with a working
    ``torchvision.ops.nms`` in plain torch, for tests whose torch child imports the real torch."""
    module = name.replace("-", "_")
    files = {module + "/__init__.py": "__version__ = {!r}\n".format(version)
             + ("from . import ops  # noqa: F401\n" if nms else "")}
    if nms:
        files[module + "/ops.py"] = _NMS
    return build_wheel(out, name, version, requires=["torch==" + torch_pin], files=files)


def make_index(root: Path, wheels: Mapping[str, Iterable[Path]]) -> Path:
    """``root/<sub>/<project>/index.html`` linking each wheel (copied, or linked when large)."""
    for sub, paths in wheels.items():
        projects: Dict[str, list] = {}
        for p in paths:
            project = re.sub(r"[-_.]+", "-", p.name.split("-", 1)[0]).lower()
            projects.setdefault(project, []).append(p)
        for project, files in projects.items():
            folder = root / sub / project
            folder.mkdir(parents=True, exist_ok=True)
            links = []
            for p in files:
                target = folder / p.name
                if not target.exists():
                    if p.stat().st_size > 50_000_000:
                        os.symlink(p, target)
                    else:
                        shutil.copy2(p, target)
                links.append('<a href="{0}">{0}</a><br/>'.format(html.escape(p.name)))
            (folder / "index.html").write_text("<!DOCTYPE html><html><body>\n{}\n</body></html>\n".format("\n".join(links)))
    return root


def pip_env(index: Optional[str] = None) -> Dict[str, str]:
    """The environment for pip in these tests: no user or site configuration, no network
    retries; ``index`` (a file:// URL, or one that fails) as the default index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_RETRIES": "0",
                "PIP_DEFAULT_TIMEOUT": "5", "PIP_NO_INPUT": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    env["PIP_INDEX_URL"] = index or "http://127.0.0.1:9/simple"
    return env


def make_venv(path: Path) -> Path:
    """A fresh virtual environment with pip; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def pip_install(python: Path, args: Sequence[str], env: Mapping[str, str]) -> None:
    subprocess.run([str(python), "-m", "pip", "install", "-q", *args], check=True, timeout=600, env=dict(env))


def installed(python: Path, env: Mapping[str, str]) -> Dict[str, str]:
    """name -> version of everything installed (pip's own view)."""
    import json

    out = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], check=True, timeout=120,
                         env=dict(env), capture_output=True, text=True).stdout
    return {re.sub(r"[-_.]+", "-", d["name"]).lower(): d["version"] for d in json.loads(out)}
