"""The lock files (requirements/main.txt, requirements/dev.txt) against pyproject.toml: every
requirement named there is pinned with == and sha256 hashes, at a version its specifier
allows, so that `pip install --require-hashes` installs exactly what the lock says and the
two files cannot drift apart unnoticed (`make lock` brings them back together)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
MAIN_LOCK = ROOT / "requirements" / "main.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)\s*(;(?P<marker>.*))?$"
)
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Pin:
    version: Version
    marker: str  # "" for every platform; uv forks a package by Python version when needed
    hashes: int


def _entries(path: Path) -> list[str]:
    """The lock's requirement entries, each with its continuation lines joined, comments cut."""
    entries: list[str] = []
    current = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current = f"{current} {line}" if current else line
        if current.endswith("\\"):
            current = current[:-1].rstrip()
            continue
        entries.append(current)
        current = ""
    assert not current, f"{path.name} ends inside an entry: {current!r}"
    return entries


def _pins(path: Path) -> dict[str, list[Pin]]:
    """Each package's pins: one, or one per environment marker where the resolution forks."""
    pins: dict[str, list[Pin]] = {}
    for entry in _entries(path):
        requirement, _, options = entry.partition(" --hash=")
        options = "--hash=" + options if options else ""
        match = PIN.match(requirement.strip())
        assert match, f"{path.name}: not an exact pin: {entry[:120]!r}"
        name = canonicalize_name(match["name"])
        marker = (match["marker"] or "").strip()
        forks = pins.setdefault(name, [])
        assert all(pin.marker and marker and pin.marker != marker for pin in forks), (
            f"{path.name}: {name} pinned twice for the same environments"
        )
        forks.append(Pin(Version(match["version"]), marker, len(HASH.findall(options))))
    return pins


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _requirements(section: str) -> list[Requirement]:
    project = _pyproject()
    if section == "runtime":
        texts = project["project"]["dependencies"]
    elif section == "build":
        texts = project["build-system"]["requires"]
    else:
        texts = project["project"]["optional-dependencies"][section]
    return [Requirement(text) for text in texts]


@pytest.mark.parametrize("lock", [MAIN_LOCK, DEV_LOCK], ids=["main", "dev"])
def test_every_entry_is_an_exact_pin_with_hashes(lock: Path) -> None:
    pins = _pins(lock)
    assert len(pins) > 20, f"{lock.name} holds only {len(pins)} packages"
    for name, forks in pins.items():
        for pin in forks:
            assert pin.hashes >= 1, f"{lock.name}: {name} {pin.version} has no sha256 hash"
    text = lock.read_text(encoding="utf-8")
    assert "-e " not in text and "file:" not in text, "the lock names a local path"


@pytest.mark.parametrize(
    ("lock", "sections"),
    [(MAIN_LOCK, ["runtime", "build"]), (DEV_LOCK, ["runtime", "build", "dev"])],
    ids=["main", "dev"],
)
def test_lock_covers_every_requirement_of_pyproject(lock: Path, sections: list[str]) -> None:
    pins = _pins(lock)
    for section in sections:
        requirements = _requirements(section)
        assert requirements, f"pyproject.toml names no {section} requirement"
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            assert name in pins, (
                f"{requirement} ({section}) is not in {lock.relative_to(ROOT)}: run `make lock`"
            )
            for pin in pins[name]:
                assert requirement.specifier.contains(pin.version, prereleases=True), (
                    f"{lock.name} pins {name}=={pin.version}, outside pyproject's "
                    f"{requirement}: run `make lock`"
                )


def test_main_lock_is_the_dev_lock_without_the_dev_tools() -> None:
    main, dev = _pins(MAIN_LOCK), _pins(DEV_LOCK)
    outside = sorted(set(main) - set(dev))
    assert not outside, f"main.txt pins what dev.txt does not: {outside}"
    differ = {name: (forks, dev[name]) for name, forks in main.items() if forks != dev[name]}
    assert not differ, f"main.txt and dev.txt pin other versions: {differ}"
    # Some dev tools are also needed at run time (pillow, through matplotlib); most are not.
    dev_tools = {canonicalize_name(r.name) for r in _requirements("dev")}
    in_runtime = dev_tools & set(main)
    assert len(in_runtime) < len(dev_tools) / 2, f"dev tools in the runtime lock: {in_runtime}"


def test_entry_parser_reads_markers_forks_and_refuses_ranges(tmp_path: Path) -> None:
    lock = tmp_path / "lock.txt"
    digest = "0" * 64
    lock.write_text(
        "# header\n"
        f"uvloop==0.23.0 ; sys_platform != 'win32' \\\n    --hash=sha256:{digest}\n"
        "    # via uvicorn\n"
        f"Jinja2==3.1.6 \\\n    --hash=sha256:{digest} \\\n    --hash=sha256:{'1' * 64}\n",
        encoding="utf-8",
    )
    pins = _pins(lock)
    assert pins["uvloop"] == [Pin(Version("0.23.0"), "sys_platform != 'win32'", 1)]
    assert pins["jinja2"] == [Pin(Version("3.1.6"), "", 2)]
    forked = (
        f"numpy==2.4.6 ; python_full_version < '3.12' \\\n    --hash=sha256:{digest}\n"
        f"numpy==2.5.5 ; python_full_version >= '3.12' \\\n    --hash=sha256:{digest}\n"
    )
    lock.write_text(forked, encoding="utf-8")
    assert [str(pin.version) for pin in _pins(lock)["numpy"]] == ["2.4.6", "2.5.5"]
    lock.write_text(f"numpy==2.4.6 --hash=sha256:{digest}\nnumpy==2.5.5\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="pinned twice"):
        _pins(lock)
    lock.write_text(f"fastapi>=0.115 \\\n    --hash=sha256:{digest}\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="not an exact pin"):
        _pins(lock)
