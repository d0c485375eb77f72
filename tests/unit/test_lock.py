"""The lock (requirements/*.txt, written by `make lock`) covers what pyproject.toml declares.

A dependency added to an extra without `make lock` would be missing from every install that reads
the lock (`make`, the Dockerfiles), so CI fails here first, with the command that fixes it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PROJECT = canonicalize_name(PYPROJECT["project"]["name"])
EXTRAS: dict[str, list[str]] = PYPROJECT["project"]["optional-dependencies"]
LOCKS = sorted(p.stem for p in (REPO / "requirements").glob("*.txt"))
# Installed by each image (and a fine-tuning machine) from the build it needs, CUDA or CPU, before
# the lock; only dev.txt pins it, at constraints.txt's CPU build.
OWN_TORCH = {"torch"}
FIX = "run `make lock` and commit requirements/"


def locked(target: str) -> dict[str, Version]:
    pins = {}
    for line in (REPO / "requirements" / f"{target}.txt").read_text().splitlines():
        if m := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line):
            pins[canonicalize_name(m[1])] = Version(m[2])
    return pins


def declared(extra: str) -> tuple[dict[str, Requirement], set[str]]:
    """The requirements an install of `.[extra]` asks for (base + extra, self-references expanded)."""
    requirements: dict[str, Requirement] = {}
    seen: set[str] = set()
    todo = [extra]
    for text in PYPROJECT["project"]["dependencies"]:
        requirements[canonicalize_name(Requirement(text).name)] = Requirement(text)
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for text in EXTRAS[current]:
            req = Requirement(text)
            if canonicalize_name(req.name) == PROJECT:
                todo.extend(req.extras)
            elif req.marker is None or req.marker.evaluate():
                requirements[canonicalize_name(req.name)] = req
    return requirements, seen


def test_there_is_a_lock_per_install_target_and_make_refreshes_each():
    assert "dev" in LOCKS, f"requirements/dev.txt is missing: {FIX}"
    makefile = (REPO / "Makefile").read_text()
    targets = re.search(r"^LOCKS := (.+)$", makefile, re.M)[1].split()
    assert sorted(targets) == LOCKS, "Makefile's LOCKS and requirements/*.txt differ"
    for target in LOCKS:
        assert target in EXTRAS, f"requirements/{target}.txt locks no extra of pyproject.toml"


@pytest.mark.parametrize("target", LOCKS)
def test_lock_pins_every_declared_dependency_at_an_allowed_version(target):
    requirements, _ = declared(target)
    pins = locked(target)
    expected = set(requirements) - (set() if target == "dev" else OWN_TORCH)
    missing = sorted(expected - set(pins))
    assert not missing, f"requirements/{target}.txt lacks {', '.join(missing)}: {FIX}"
    outside = sorted(
        f"{name}=={pins[name]} (pyproject says {requirements[name].specifier})"
        for name in expected
        if not requirements[name].specifier.contains(pins[name], prereleases=True)
    )
    assert not outside, f"requirements/{target}.txt is stale: {'; '.join(outside)}: {FIX}"


def test_every_extra_is_installed_from_some_lock():
    covered = set().union(*(declared(target)[1] for target in LOCKS))
    orphans = sorted(set(EXTRAS) - covered)
    assert not orphans, (
        f"extras {orphans} are in no lock: reach them from `dev` (or add a target to the Makefile's "
        f"LOCKS) and {FIX}"
    )


def test_dev_lock_keeps_the_cpu_torch_of_constraints_and_images_leave_torch_out():
    lines = (REPO / "constraints.txt").read_text().splitlines()
    pin = next(Requirement(line) for line in lines if line.startswith("torch=="))
    # The lock holds the local build the pin resolved to (2.13.0+cpu); its public part is the pin.
    assert pin.specifier.contains(locked("dev")["torch"].public), (pin, locked("dev")["torch"])
    assert locked("dev")["torch"].local == "cpu"
    for target in set(LOCKS) - {"dev"}:
        assert "torch" not in locked(target), f"requirements/{target}.txt pins torch"
