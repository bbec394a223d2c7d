"""The set of forms the server knows, read from forms/ at start-up."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import UnknownForm
from app.forms.definition import FormDefinition, FormLoadError, load_form
from app.forms.problems import FormProblem, form_problem, messages

log = logging.getLogger(__name__)


@dataclass
class FormRegistry:
    """Every version of every form. The current version of a form is the one of its file in
    forms/ itself, whatever its version string (Kobo's `vZq81`, `1.10` after `1.9`): files in
    forms/versions/ are old versions, kept so that surveys made with them are accepted."""

    versions: dict[str, dict[str, FormDefinition]] = field(default_factory=dict)
    # Why each form file that is not used is refused, or what is wrong with it (by file, as
    # under forms/).
    problems: dict[str, list[FormProblem]] = field(default_factory=dict)
    # The version of each form's file in forms/ (the current one), by form id.
    current_versions: dict[str, str] = field(default_factory=dict)
    _private: dict[tuple[str, bool], frozenset[str]] = field(default_factory=dict, repr=False)

    def add(self, form: FormDefinition, current: bool = False) -> None:
        """Register a form version (a new version never replaces an old one); `current`: it
        is the form's file in forms/, the version served to phones."""
        self.versions.setdefault(form.form_id, {})[form.version] = form
        if current:
            self.current_versions[form.form_id] = form.version
        self._private.clear()

    def personal_fields(self, form_id: str, files: bool = False) -> frozenset[str]:
        """What any version of a form marks personal (a later version may mark a question an
        earlier one did not), with `files` its file questions too (FormDefinition's
        private_fields); read once per form, not per survey."""
        key = (form_id, files)
        found = self._private.get(key)
        if found is None:
            versions = self.versions.get(form_id, {}).values()
            found = frozenset().union(
                *(v.private_fields if files else v.personal_fields for v in versions)
            )
            self._private[key] = found
        return found

    def current(self, form_id: str) -> FormDefinition:
        """The current version of a form: its file in forms/. A form left only in
        forms/versions/ (no longer changed, its surveys still read) has none: its highest
        version then, numbers inside the version compared as numbers (`1.10` after `1.9`)."""
        versions = self.versions.get(form_id)
        if not versions:
            raise UnknownForm("unknown_form", form=form_id)
        version = self.current_versions.get(form_id)
        if version is not None and version in versions:
            return versions[version]
        return versions[max(versions, key=_version_key)]

    def get(self, form_id: str, version: str | None) -> FormDefinition:
        """A given version of a form (the current one when version is None)."""
        if version is None:
            return self.current(form_id)
        versions = self.versions.get(form_id)
        if not versions:
            raise UnknownForm("unknown_form", form=form_id)
        if version not in versions:
            known = ", ".join(sorted(versions, key=_version_key))
            raise UnknownForm("unknown_form_version", form=form_id, version=version, versions=known)
        return versions[version]

    def newest_first(self, form_id: str) -> list[FormDefinition]:
        """Every version of a form: the current one, then the others newest first (numbers
        inside the version compared as numbers: `1.10` before `1.9`)."""
        current = self.current(form_id)
        others = sorted(
            (form for form in self.versions[form_id].values() if form is not current),
            key=lambda form: _version_key(form.version),
            reverse=True,
        )
        return [current, *others]

    def all_current(self) -> list[FormDefinition]:
        """The current version of every form, by form id."""
        return [self.current(form_id) for form_id in sorted(self.versions)]


FORM_SUFFIXES = (".xlsx", ".xls", ".md")


def _form_files(directory: Path) -> list[Path]:
    """The XLSForm files of a directory, then those of its versions/ archive."""
    found: list[Path] = []
    for folder in (directory, directory / "versions"):
        if folder.is_dir():
            found += sorted(p for p in folder.iterdir() if p.suffix.lower() in FORM_SUFFIXES)
    return found


_NUMBER_OR_TEXT = re.compile(r"(\d+)")


def _version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """A version's order among those of a form with no file in forms/ (and for listing):
    digit runs compared as numbers, other text as text (`1.9` < `1.10`, `v2` < `v10`)."""
    return tuple(
        (1, int(part), "") if part.isdigit() else (0, 0, part)
        for part in _NUMBER_OR_TEXT.split(version)
        if part
    )


def load_registry(directory: Path) -> FormRegistry:
    """Load every XLSForm (.xlsx, .xls, pyxform's .md) in a directory and its `versions/`
    archive of older versions.

    The file in forms/ is a form's current version, whatever its version string; those in
    versions/ are old versions (a form's choice and media files: see FormDefinition.folders).
    A broken file is logged with its problems and skipped, so one bad upload cannot stop the
    server; the problems are kept for the admin to see. So is a second file with the form id
    and version of one already read: the file in forms/ is the current form, and an archived
    copy in versions/ (or a second file of forms/, by name) never replaces it. A second file
    of one form in forms/ with another version is kept as an old version (its surveys are
    accepted) and listed with a problem: the highest version of the two stays the current one
    (digit runs compared as numbers).
    """
    registry = FormRegistry()
    read_from: dict[tuple[str, str], str] = {}
    top_files: dict[str, list[tuple[str, str]]] = {}  # the files in forms/ itself, by form
    for path in _form_files(directory):
        if path.name.startswith("~$"):  # Excel lock files
            continue
        name = path.relative_to(directory).as_posix()
        in_top_folder = path.parent == directory
        try:
            form = load_form(path, () if in_top_folder else (directory,))
        except FormLoadError as exc:
            registry.problems[name] = exc.problems
            log.error("form %s not loaded: %s", name, "; ".join(messages(exc.problems)))
            continue
        first = read_from.setdefault((form.form_id, form.version), name)
        if first != name:
            problem = form_problem(
                "form_version_taken",
                "settings",
                column="version",
                form_id=form.form_id,
                version=form.version,
                first=first,
            )
            registry.problems[name] = [problem]
            log.error("form %s not loaded: %s", name, problem.message("en"))
            continue
        registry.add(form)
        if in_top_folder:
            top_files.setdefault(form.form_id, []).append((name, form.version))
    for form_id, files in top_files.items():
        # Two files of one form in forms/: the highest version is current (the likelier
        # intent), the other is kept as an old version and listed to be moved.
        current, version = max(files, key=lambda file: _version_key(file[1]))
        registry.current_versions[form_id] = version
        for name, other in files:
            if name == current:
                continue
            problem = form_problem(
                "form_current_twice",
                "settings",
                column="form_id",
                form_id=form_id,
                version=other,
                current=current,
            )
            registry.problems[name] = [problem]
            log.error("form %s: %s", name, problem.message("en"))
    return registry


def _signature(directory: Path) -> tuple[tuple[str, int, int], ...]:
    paths = _form_files(directory)
    for folder in (directory, directory / "versions"):  # choice files
        paths += sorted(folder.glob("*.csv")) + sorted(folder.glob("*.xml"))
    entries = []
    for path in paths:
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed while we looked
            continue
        entries.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


@dataclass
class FormsWatcher:
    """The forms of a directory, reloaded when a file there is added, changed or removed.

    Adding a form is dropping an .xlsx into forms/: the running server sees it within
    `interval_s` seconds. Looking is a few stat() calls, done at most once per interval.
    """

    directory: Path
    interval_s: float = 5.0
    registry: FormRegistry = field(default_factory=FormRegistry)
    signature: tuple[tuple[str, int, int], ...] = ()
    checked_at: float = float("-inf")
    _reloading: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @classmethod
    def start(cls, directory: Path, interval_s: float = 5.0) -> FormsWatcher:
        """Load the directory now."""
        watcher = cls(directory, interval_s)
        watcher.signature = _signature(directory)
        watcher.registry = load_registry(directory)
        watcher.checked_at = time.monotonic()
        return watcher

    async def current(self, now: bool = False) -> FormRegistry:
        """The forms as they are on disk (checked at most once per interval; `now`: checked
        now, a reload under way waited for)."""
        moment = time.monotonic()
        if not now and (moment - self.checked_at < self.interval_s or self._reloading.locked()):
            return self.registry  # a reload under way: the old forms meanwhile
        async with self._reloading:
            self.checked_at = moment
            signature = _signature(self.directory)
            if signature != self.signature:
                # pyxform takes a while: read in a thread; requests that need not wait for
                # it (not `now`) are served the old forms meanwhile.
                registry = await asyncio.to_thread(load_registry, self.directory)
                self.signature, self.registry = signature, registry
                log.info("forms reloaded: %s", ", ".join(sorted(self.registry.versions)))
        return self.registry

    async def having(self, form_id: str, version: str | None) -> FormRegistry:
        """The forms, looked at again at once when they lack this form or version. Each
        server process watches forms/ on its own: a form version another process listed a
        moment ago (Collect's form list, then its download from this process) is not yet
        here until this one's next look, and was answered 404 or the older form's bytes
        under the new one's hash."""
        registry = await self.current()
        versions = registry.versions.get(form_id)
        if versions and (version is None or version in versions):
            return registry
        return await self.current(now=True)
