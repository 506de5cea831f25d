"""site-packages trees built from recorded real metadata (``tests/data/dists``)."""

from __future__ import annotations

import json
import os
import re
from typing import Optional

WHEELS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "dists", "wheels")


def recorded(spec: str) -> str:
    """The recorded METADATA text of ``name-version``."""
    with open(os.path.join(WHEELS, spec, "METADATA"), encoding="utf-8") as fh:
        return fh.read()


def install(site: str, spec: str, *, version: Optional[str] = None, direct_url: Optional[str] = None,
            installer: str = "pip") -> str:
    """Lay out ``spec``'s recorded metadata in ``site`` as pip does; ``version`` replaces the
    ``Version:`` line (a build from another index), ``direct_url`` writes PEP 610's
    ``direct_url.json`` (an install from a URL). torch also gets its recorded ``torch/version.py``."""
    text = recorded(spec)
    name = re.search(r"^Name: (.+)$", text, re.M).group(1).strip()
    if version is not None:
        text = re.sub(r"^Version: .+$", "Version: " + version, text, count=1, flags=re.M)
    real_version = re.search(r"^Version: (.+)$", text, re.M).group(1).strip()
    folder = os.path.join(site, "{}-{}.dist-info".format(re.sub(r"[-_.]+", "_", name), real_version))
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "METADATA"), "w", encoding="utf-8") as fh:
        fh.write(text)
    with open(os.path.join(folder, "INSTALLER"), "w", encoding="utf-8") as fh:
        fh.write(installer + "\n")
    if direct_url is not None:
        with open(os.path.join(folder, "direct_url.json"), "w", encoding="utf-8") as fh:
            json.dump({"url": direct_url, "archive_info": {}}, fh)
    version_py = os.path.join(WHEELS, spec, "version.py.txt")
    if os.path.exists(version_py):
        os.makedirs(os.path.join(site, name.lower()), exist_ok=True)
        with open(version_py, encoding="utf-8") as src, \
                open(os.path.join(site, name.lower(), "version.py"), "w", encoding="utf-8") as dst:
            dst.write(src.read())
    return folder


FLASH_ATTN_URL = ("https://github.com/Dao-AILab/flash-attention/releases/download/v2.7.4.post1/"
                  "flash_attn-2.7.4.post1+cu12torch2.6cxx11abiFALSE-cp310-cp310-linux_x86_64.whl")
