"""Where the course's repository lives: one setting, ``repository`` in the book's ``_config.yml``.

The Colab badges, the Colab install cells and the book's download links name a GitHub repository
and branch. They are read from the ``repository:`` section (``url``, ``branch``) of
``book/_config.yml`` in the checkout the command runs in (the current folder or one above it), so
a fork that changes that one setting releases notebooks and builds a book that point at the fork.
Outside a checkout (keraslab installed from PyPI and used on its own) the course's own
repository is used. Every address is made by :class:`Repository` (``colab_url``, ``raw_url``,
``requirement``) from :func:`repository`, read afresh on each call, so it always follows the
checkout of the current folder.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

DEFAULT_URL = "https://github.com/keraslab/keraslab"
DEFAULT_BRANCH_NAME = "main"
BOOK_FOLDER = "book"
CONFIG_NAME = "_config.yml"
_GITHUB_URL = re.compile(r"https://github\.com/([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+?)(?:\.git)?/?")


@dataclasses.dataclass(frozen=True)
class Repository:
    """A GitHub repository and the branch the course is published from."""

    url: str
    branch: str

    @property
    def name(self) -> str:
        """``owner/name``."""
        return self.url.removeprefix("https://github.com/")

    def colab_url(self, path: str) -> str:
        """Colab's address of a notebook at ``path`` in this repository."""
        return f"https://colab.research.google.com/github/{self.name}/blob/{self.branch}/{path.strip('/')}"

    def raw_url(self, path: str) -> str:
        """The address that downloads the file at ``path``."""
        return f"{self.url}/raw/{self.branch}/{path.strip('/')}"

    def requirement(self) -> str:
        """The pip requirement that installs keraslab from this repository."""
        return f"keraslab @ git+{self.url}@{self.branch}"


def find_checkout(start: Path | str | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: the current folder) that holds
    ``book/_config.yml``, or ``None``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / BOOK_FOLDER / CONFIG_NAME).is_file():
            return folder
    return None


def read_repository(config_path: Path | str) -> Repository:
    """The ``repository`` setting of a book's ``_config.yml``.

    Raises:
        ValueError: the setting is not a GitHub address (Colab opens notebooks from GitHub only).
    """
    import yaml

    config_path = Path(config_path)
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    section = config.get("repository") or {}
    url = str(section.get("url") or DEFAULT_URL).strip()
    branch = str(section.get("branch") or DEFAULT_BRANCH_NAME).strip()
    match = _GITHUB_URL.fullmatch(url)
    if match is None:
        raise ValueError(f"repository.url in {config_path} must be a GitHub address such as "
                         f"{DEFAULT_URL}, got {url!r}")
    if not branch or any(c.isspace() for c in branch):
        raise ValueError(f"repository.branch in {config_path} must be a branch name, got {branch!r}")
    return Repository(url=f"https://github.com/{match.group(1)}", branch=branch)


def repository(book_dir: Path | str | None = None) -> Repository:
    """The course's repository: from ``book_dir/_config.yml`` when given, else from the book of
    the checkout of the current folder, else the course's own."""
    if book_dir is not None:
        config = Path(book_dir) / CONFIG_NAME
        if not config.is_file():
            raise ValueError(f"book_dir {str(book_dir)!r} has no {CONFIG_NAME}")
        return read_repository(config)
    checkout = find_checkout()
    if checkout is None:
        return Repository(DEFAULT_URL, DEFAULT_BRANCH_NAME)
    return read_repository(checkout / BOOK_FOLDER / CONFIG_NAME)

