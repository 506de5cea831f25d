"""Text for ``envcheck matrix``: short, aligned, with caveats whenever data is not official."""

from __future__ import annotations

from envcheck.render import style

__all__ = ["release_text", "variant_table_text", "gpu_text", "overview_text", "info_line", "answer_lines", "update_lines", "change_lines"]


def answer_lines(answer) -> list[str]:
    """``envcheck matrix``'s text for a :class:`envcheck.matrix.report.MatrixAnswer`."""
    d = answer.data
    if answer.kind == "builds":
        v = answer.variant
        what = "conda packages" if d["conda"] else "pip wheels"
        offside = f" ({answer.off_selector} of them off the install selector)" if answer.off_selector else ""
        lines = [f"{v.describe()} ({v.label}) {what} exist for {answer.count} releases{offside}:"]
        lines += overview_text(d["releases"])
    elif answer.kind == "gpu":
        lines = gpu_text(d["compute_capability"], d["generation"], d["releases"])
    elif answer.kind == "releases":
        lines = []
        for e in d["releases"]:
            lines += release_text(e) + [""]
    else:
        lines = overview_text(d["releases"])
    return lines + [info_line(answer.info)]


def info_line(info: dict) -> str:
    origin = "refreshed data" if info["origin"] == "user" else "shipped data"
    return (
        f"data: {origin} of {info['updated'][:10]} ({_age(info['age_days'])}), {info['releases']} releases up to torch "
        f"{info['newest_release']} ({info['directory']})"
    )


def _age(days: int) -> str:
    return "from today" if days <= 0 else ("1 day old" if days == 1 else f"{days} days old")


def _pythons(entry: dict) -> str:
    text = " ".join(entry["python"]) or "unknown"
    if entry["python_experimental"]:
        text += f"  (experimental: {' '.join(entry['python_experimental'])})"
    return text


def _partners(entry: dict) -> str:
    tv = f"torchvision {entry['torchvision']}" if entry["torchvision"] else "no torchvision"
    ta = f"torchaudio {entry['torchaudio']}" if entry["torchaudio"] else "no torchaudio"
    return f"{tv}, {ta}"


_SETTLED_WORDS = {"python": "Pythons", "default_variant": "default build", "torchvision": "torchvision",
                  "torchaudio": "torchaudio"}


def release_text(entry: dict) -> list[str]:
    conf = entry["confidence"]
    tag = style(conf, "green" if conf == "official" else "yellow")
    lines = [style(f"torch {entry['torch']}", "bold") + f"  [{tag}]"]
    lines.append(f"  partners     {_partners(entry)}")
    if entry["partners_note"]:
        lines.append(f"               ({entry['partners_note']})")
    lines.append(f"  python       {_pythons(entry)}")
    lines.append(f"  platforms    {', '.join(entry['platforms'])}")
    pip = entry["pip"]
    lines.append(f"  pip form     {pip['form']}: {pip['form_example']}")
    d = pip["default"]
    lines.append(
        "  plain pip    "
        + ", ".join(f"{os_name} -> {d[os_name] or 'n/a'}" for os_name in ("linux", "windows", "macos"))
    )
    conda = entry["conda"]
    if conda["style"] == "none":
        lines.append(f"  conda        {conda['form']}")
    else:
        lines.append(
            f"  conda        {conda['style']} on -c {conda['channel']}: {', '.join(conda['variants'])}"
        )
    index = entry.get("package_index")
    if index:
        settled = ", ".join(_SETTLED_WORDS.get(f, f) for f in index["settled"]) or "nothing"
        lines.append(f"  package index {index['source']} (read {index['read']}; official: {settled})")
        lines.append(f"               Requires-Python {index['requires_python'] or 'not declared'}, uploaded "
                     f"{index['uploaded'] or 'unknown'}; Linux wheel CUDA {index['cuda'] or 'none'}")
        if index["pins"]:
            lines.append("               pins " + " ".join(f"{k}{v}" for k, v in index["pins"].items()))
        for why in index["partners"].values():
            lines.append(f"               {why}")
    lines.append(f"  builds ({entry['archs_os']} GPU code):")
    lines += variant_table_text(pip["variants"])
    for c in entry["caveats"]:
        lines.append(style(f"  ! {c}", "yellow"))
    for n in entry["notes"]:
        lines.append(style(f"  note: {n}", "dim"))
    lines.append(style(f"  source: {entry['source']}", "dim"))
    return lines


def variant_table_text(variants: list[dict]) -> list[str]:
    lines = []
    for v in variants:
        label = f"    {v['variant']:<10}"
        a = v.get("archs")
        if a is None:
            lines.append(f"{label}{v['what']}")
        elif not a["known"]:
            lines.append(f"{label}{v['what']}: architectures unknown ({a['note']})")
        else:
            code = " ".join(a["sass"])
            if a["ptx"]:
                code += "  + PTX " + " ".join(a["ptx"])
            extra = "" if a["confidence"] == "official" else style(f"  [{a['confidence']}]", "yellow")
            lines.append(f"{label}{code}  ({a['generations']}){extra}")
        off = v.get("off_selector")
        if off:
            lines.append(style(f"      {OFF_MARK} not on the install selector: wheels for {', '.join(off['os'])} on "
                               f"PyTorch's index [{off['confidence']}: {off['source']}]", "dim"))
    return lines


OFF_MARK = "*"
OFF_LEGEND = (f"{OFF_MARK} not on the install selector: PyTorch publishes the build on its index "
              "(download.pytorch.org/whl/<build>) without offering it on pytorch.org")


def _label(name: str, off: bool) -> str:
    return name + OFF_MARK if off else name


def gpu_text(cc: str, generation: str, rows: list[dict]) -> list[str]:
    lines = [style(f"Builds that run on a compute capability {cc} GPU ({generation}):", "bold")]
    for r in rows:
        ok = ", ".join(
            _label(v["variant"], not v.get("on_selector", True)) + (" (PTX JIT)" if v["how"].startswith("ptx") else "")
            for v in r["runs"]
        )
        if not ok and r["unknown"] and not r["does_not_run"]:
            ok = style("unknown (no architecture data for its builds)", "yellow")
        elif not ok and r["unknown"]:
            ok = style("none known", "red")
        lines.append(f"  torch {r['torch']:<8} {ok or style('none', 'red')}")
        for v in r["does_not_run"]:
            lines.append(style(f"      not {v['variant']}: {v['why']}", "dim"))
        for v in r["unknown"]:
            lines.append(style(f"      {v['variant']}: unknown ({v['why']})", "yellow"))
    if any(not v.get("on_selector", True) for r in rows for v in r["runs"]):
        lines.append(OFF_LEGEND)
    return lines


def overview_text(rows: list[dict]) -> list[str]:
    lines = [f"{'torch':<8} {'vision':<8} {'audio':<8} {'python':<12} {'conda':<17} builds"]
    for r in rows:
        py = f"{r['python'][0]}-{r['python'][-1]}" if r["python"] else "?"
        flag = "" if r["confidence"] == "official" else f"  [{r['confidence']}]"
        lines.append(
            f"{r['torch']:<8} {r['torchvision'] or '-':<8} {r['torchaudio'] or '-':<8} {py:<12} "
            f"{r['conda']:<17} {' '.join(_label(v, v in r['off_selector']) for v in r['variants'])}{flag}"
        )
    if any(r["off_selector"] for r in rows):
        lines.append(OFF_LEGEND)
    return lines


def update_lines(result) -> list[str]:
    """``envcheck matrix update``: each change, what was read, and whether it was written."""
    from pathlib import Path

    lines = [line for c in result.changes for line in change_lines(c)]
    found = sum(1 for p in result.pages if p.found)
    where = result.source.get("directory") or f"{result.source.get('package_index')} and {result.source.get('index_url')}"
    wheels = ""
    if result.reads:
        size = sum(r.bytes for r in result.reads) / 1e6
        wheels = (f" and the metadata of {len(result.reads)} wheels ({sum(r.requests for r in result.reads)} "
                  f"range requests, {size:.1f} MB)")
    lines.append(
        f"read {len(result.pages)} pages ({found} found, {len(result.pages) - found} missing){wheels} "
        f"from {where}; compared with the {result.base['origin']} data of {result.base['updated']}"
    )
    if result.in_sync:
        newest = (f"; the newest release on the package index, torch {result.newest_on_index}, is known and "
                  "its official fields are settled") if result.newest_on_index else ""
        lines.append("in sync: upstream has no release or build that the data lacks" + newest)
    else:
        n = len(result.new) + len(result.changed)
        lines.append(
            f"{len(result.new)} new, {len(result.changed)} extended, {len(result.pending)} pending"
            + ("" if n or not result.pending else " (pending releases are not written)")
        )
        if result.written:
            lines.append(f"wrote {', '.join(Path(p).name for p in result.written)} to {result.target} "
                         f"(updated {result.updated})")
        elif result.write:
            lines.append("nothing to write")
        elif n:
            lines.append("not written: run with --write to save it"
                         + (f" to {result.target}" if result.target else ""))
    return lines


def change_lines(change) -> list[str]:
    """One release the refresh adds (+), extends (~) or leaves pending (!), one line per item."""
    from envcheck.matrix.update import PARTNERS, off_labels, pythons_text

    if change.kind == "pending":
        return [f"! torch {change.torch}: {change.reason}"]
    if change.kind == "new":
        r = change.row or {}
        partners = ", ".join(f"{p} {r[p]}" if r[p] else f"no {p}" for p in PARTNERS)
        pythons = pythons_text(r["python"], r["python_experimental"])
        off = off_labels(r)
        builds = " ".join(r["pip"]["variants"]) + "".join(f" {v} (off the selector)" for v in off)
        return [f"+ torch {change.torch} ({r['confidence']}): {partners}, {pythons}, builds {builds}"]
    out = []
    for v in change.added.get("variants", []):
        out.append(f"~ torch {change.torch}: + build {v}")
    for v in change.added.get("off_selector", []):
        out.append(f"~ torch {change.torch}: + build {v} (not on the install selector)")
    for item in change.added.get("off_selector_os", []):
        out.append(f"~ torch {change.torch}: + build {item}")
    for p in change.added.get("python", []):
        out.append(f"~ torch {change.torch}: + python {p}")
    for p in change.added.get("python_experimental", []):
        out.append(f"~ torch {change.torch}: + python {p} (experimental)")
    for pkg, (old, new) in change.partners.items():
        out.append(f"~ torch {change.torch}: {pkg} {old or 'none'} -> {new}")
    for item in change.added.get("index", []):
        out.append(f"~ torch {change.torch}: {item} (package index)")
    return out
