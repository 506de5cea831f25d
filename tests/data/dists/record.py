"""Record real metadata from published wheels for envcheck's package tests and data.

Run by hand (network, a few hundred small range requests); never by the tests. Each wheel is
read by byte ranges (``envcheck.matrix.wheelmeta``): only its ``*.dist-info/METADATA`` and
``WHEEL`` members are fetched, never the whole file.

    python tests/data/dists/record.py meta NAME==VERSION ...   # -> tests/data/dists/wheels/
    python tests/data/dists/record.py pins xformers vllm        # -> stdout, JSON pins by release

``meta`` writes ``wheels/<name>-<version>/{METADATA,WHEEL,SOURCE}`` (and torch's ``version.py.txt``) (SOURCE: the wheel's URL and
sha256 as the index lists them). ``pins`` prints, for each final release of each project, the
``Requires-Dist`` of its first Linux x86_64 wheel on torch, torchvision, xformers, triton and
numpy: the data in ``matrices/extensions.json``.
"""

from __future__ import annotations

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..", "..")))

from envcheck.matrix import pyindex, update, wheelmeta  # noqa: E402

SIMPLE = "https://pypi.org/simple"
WANTED = ("torch", "torchvision", "torchaudio", "xformers", "triton", "numpy", "flash-attn")


def _pages():
    return update.HttpPages("https://download.pytorch.org/whl", SIMPLE, timeout=60.0)


def _linux_wheel(files):
    wheels = [(f, w) for f, w in pyindex.wheel_files(files)]
    best = [f for f, w in wheels if "linux" in f.filename and "x86_64" in f.filename]
    return (best or [f for f, _ in wheels] or [None])[0]


def _read(pages, f, project):
    prefix = re.sub(r"[-_.]+", "_", project).lower() + "-"

    def wanted(name):
        low = name.lower()
        if low == prefix[:-1] + "/version.py":
            return True
        return low.startswith(prefix) and (low.endswith(".dist-info/metadata") or low.endswith(".dist-info/wheel"))

    return pages.members(f, wanted)


def meta(specs):
    pages = _pages()
    for spec in specs:
        name, version = spec.split("==")
        project = pages.project(name)
        f = _linux_wheel(project.releases.get(version, ()))
        if f is None:
            print("no wheel for", spec, file=sys.stderr)
            continue
        members = _read(pages, f, name)
        out = os.path.join(HERE, "wheels", "{}-{}".format(name, version))
        os.makedirs(out, exist_ok=True)
        for member, data in members.items():
            with open(os.path.join(out, member.rsplit("/", 1)[1].replace("version.py", "version.py.txt")), "wb") as fh:
                fh.write(_headers_only(data) if member.endswith("METADATA") else data)
        with open(os.path.join(out, "SOURCE"), "w") as fh:
            fh.write("{}\nsha256 {}\n".format(f.url.split("#")[0], f.sha256 or "?"))
        print("recorded", spec, "from", f.filename)


def _headers_only(data: bytes) -> bytes:
    """METADATA up to the blank line: the long description is not needed (nor small)."""
    text = data.decode("utf-8", "replace")
    head = text.split("\n\n", 1)[0]
    return (head + "\n").encode()




def pins(names):
    from packaging.requirements import Requirement
    from packaging.version import Version

    pages = _pages()
    out = {}
    for name in names:
        project = pages.project(name)
        rows = []
        for version, files in sorted(project.releases.items(), key=lambda kv: Version(kv[0])):
            v = Version(version)
            if v.is_prerelease or v.is_devrelease or v < Version(MIN[name]):
                continue
            f = _linux_wheel(files)
            if f is None:
                continue
            members = _read(pages, f, name)
            text = next((d for m, d in members.items() if m.endswith("METADATA")), b"").decode("utf-8", "replace")
            m = wheelmeta.parse_metadata(text)
            req = {}
            for line in m.requires:
                r = Requirement(line)
                if r.name.lower() in ("torch", "torchvision", "torchaudio", "xformers", "triton", "numpy") \
                        and str(r.specifier):
                    req[r.name.lower()] = str(r.specifier)
            rows.append({"version": version, "requires": req, "wheel": f.url.split("#")[0]})
            print(name, version, req, file=sys.stderr)
        out[name] = rows
    json.dump(out, sys.stdout, indent=1)


MIN = {"xformers": "0.0.20", "vllm": "0.4.0"}
update.MAX_WHEEL_READS = update.MAX_REQUESTS = 10 ** 6  # a hand-run recording, not the drift job

if __name__ == "__main__":
    if sys.argv[1] == "meta":
        meta(sys.argv[2:])
    else:
        pins(sys.argv[2:])
