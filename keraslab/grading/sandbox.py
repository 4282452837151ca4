"""Where and how a student's kernel runs: scratch directory, bubblewrap sandbox, limits.

With bubblewrap (``bwrap``) the kernel sees a read-only system (``/usr``), the Python
installation and virtual environment (read-only), the ``keraslab`` package (read-only), a few
files of ``/etc``, an empty ``/tmp`` and one writable scratch directory: its ``work``
folder, the kernel's working directory, holds only the submission; ``kernel`` holds the
kernel's connection file and sockets. It has no network (a new, empty network namespace), its own PID, IPC and UTS
namespaces, no capabilities, a new session (no terminal to inject keystrokes into), and dies
with the grader. The executor stays outside and talks to the kernel over Unix sockets in the
scratch directory, so nothing inside can see or signal the grader.

Bubblewrap runs on Linux only. Without it grading refuses (`SandboxUnavailable`, saying how
to install it) unless the instructor asks for ``--sandbox none`` by name: then the kernel is an
ordinary process of the grader's user, started in the scratch ``work`` folder with a clean
environment; limits still apply, but it can read any file that user can, solutions included.

Limits, set with ``prlimit`` on the kernel and inherited by everything it starts: address space
(``RLIMIT_AS``: a memory bomb gets a `MemoryError` or dies), file size (``RLIMIT_FSIZE``) and no
core dumps.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

_ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/hosts",
)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def parse_size(text: str | int) -> int:
    """Parses ``"2G"``, ``"512M"``, ``"1.5g"`` or a number of bytes into bytes."""
    if isinstance(text, int):
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"memory size must look like 512M or 4G, got {text!r}")
    number, unit = match.groups()
    return int(float(number) * 1024 ** "bkmgt".index(unit.lower() or "b"))


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@dataclasses.dataclass
class Limits:
    """Resource limits for one kernel.

    Args:
        cell_timeout: seconds one cell may run before it is interrupted.
        notebook_timeout: seconds the whole notebook may take (kernel start included) before
            the kernel is killed.
        memory: address-space limit in bytes; `None` for none. TensorFlow alone maps a few
            GB of address space, so leave room for it.
        file_size: largest file the kernel may write, in bytes.
        output_bytes: most output the grader keeps from one notebook; the rest is dropped.
    """

    cell_timeout: float = 120.0
    notebook_timeout: float = 900.0
    memory: int | None = 8 * 1024**3
    file_size: int = 1024**3
    output_bytes: int = 64 * 1024**2

    def __post_init__(self):
        for name in ("cell_timeout", "notebook_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0 seconds, got {getattr(self, name)!r}")
        if self.memory is not None and self.memory < 64 * 1024**2:
            raise ValueError(f"memory must be at least 64M, got {self.memory!r} bytes")


def _read_only_roots() -> list[str]:
    """Directories the kernel must be able to read: Python, its packages, keraslab."""
    roots = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    # Only the package folder: its parent may hold solutions and tests.
    roots.add(_package_dir())
    roots = sorted(os.path.realpath(r) for r in roots if r and os.path.isdir(r))
    kept: list[str] = []
    for root in roots:
        if root == "/" or any(root.startswith(k.rstrip("/") + "/") or root == k for k in kept):
            continue
        kept.append(root)
    return kept


def scratch_layout(scratch: Path) -> tuple[Path, Path]:
    """Creates and returns ``(workdir, runtime)`` inside ``scratch``.

    The working directory holds only the submission; the kernel's connection file, sockets
    and IPython settings live next to it, not in it.
    """
    workdir, runtime = Path(scratch) / "work", Path(scratch) / "kernel"
    workdir.mkdir(exist_ok=True)
    (runtime / "tmp").mkdir(parents=True, exist_ok=True)
    package = runtime / "lib" / "keraslab"
    if not package.is_symlink():
        package.parent.mkdir(exist_ok=True)
        package.symlink_to(_package_dir(), target_is_directory=True)
    return workdir, runtime


def _package_dir() -> str:
    import keraslab

    return os.path.dirname(os.path.realpath(keraslab.__file__))


def kernel_environment(runtime: Path) -> dict[str, str]:
    """A clean environment: no tokens, paths or settings of the grader's leak into the kernel."""
    env = {
        "PATH": os.pathsep.join(
            [os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]
        ),
        "HOME": str(runtime),
        # The grader's own keraslab (a link to its package folder, which the sandbox mounts),
        # so the kernel speaks the grader's recording protocol even when another copy is
        # installed.
        "PYTHONPATH": str(runtime / "lib"),
        "IPYTHONDIR": str(runtime / ".ipython"),
        "MPLCONFIGDIR": str(runtime / ".matplotlib"),
        "MPLBACKEND": "Agg",
        "PYTHONNOUSERSITE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
        # Inside the scratch directory, so nothing is left in the machine's /tmp.
        "TMPDIR": str(runtime / "tmp"),
        # As nbgrader's autograder sets it: notebooks may skip slow work when grading.
        "NBGRADER_EXECUTION": "autograde",
    }
    for name in (
        "TF_CPP_MIN_LOG_LEVEL",
        "KERAS_BACKEND",
        "CUDA_VISIBLE_DEVICES",
        "OMP_NUM_THREADS",
    ):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def bwrap_command(scratch: Path, env: dict[str, str]) -> list[str]:
    """The bubblewrap prefix that runs a command in the sandbox described in the module doc."""
    command = [
        bwrap_path() or "bwrap",
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for top in ("/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        if os.path.islink(top):
            command += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            command += ["--ro-bind", top, top]
    for file in _ETC_FILES:
        command += ["--ro-bind-try", file, file]
    command += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for root in _read_only_roots():
        if not root.startswith("/usr/"):
            command += ["--ro-bind", root, root]
    # After --tmpfs /tmp: a later tmpfs would hide this bind.
    workdir = Path(scratch) / "work"
    command += ["--bind", str(scratch), str(scratch), "--chdir", str(workdir), "--clearenv"]
    for name, value in sorted(env.items()):
        command += ["--setenv", name, value]
    return command + ["--"]


def prlimit_command(limits: Limits) -> list[str]:
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        return []
    command = [prlimit, f"--fsize={limits.file_size}", "--core=0"]
    if limits.memory is not None:
        command.append(f"--as={limits.memory}")
    return command + ["--"]


@functools.lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """Why bubblewrap cannot sandbox here (not installed, no user namespaces...), or `None`."""
    if bwrap_path() is None:
        return "bubblewrap (bwrap) is not installed"
    with tempfile.TemporaryDirectory(prefix="klg-probe-") as scratch:
        scratch_layout(Path(scratch))
        command = bwrap_command(Path(scratch), {"PATH": "/usr/bin:/bin"}) + [
            sys.executable,
            "-c",
            "pass",
        ]
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bubblewrap does not run: {error}"
    if completed.returncode != 0:
        return f"bubblewrap does not run here: {completed.stderr.strip()[:300]}"
    return None


class SandboxUnavailable(RuntimeError):
    """Grading was asked to run in a sandbox that this machine cannot give."""


INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf "
    "install bubblewrap), or pass --sandbox none to grade without a sandbox (student code "
    "can then read any file this user can, solutions included)"
)


def resolve_sandbox(choice: str) -> str:
    """Maps ``auto``/``bwrap``/``none`` to the sandbox that will be used.

    Grading fails closed: ``auto`` (the default) and ``bwrap`` both need a bubblewrap that is
    installed *and* works here (containers may forbid the namespaces it needs; bubblewrap is
    Linux only); only ``none``, asked for by name, grades without a sandbox.

    Raises:
        SandboxUnavailable: bubblewrap cannot be used (the message says how to install it).
        ValueError: ``choice`` is none of the three.
    """
    if choice not in ("auto", "bwrap", "none"):
        raise ValueError(f"sandbox must be 'auto', 'bwrap' or 'none', got {choice!r}")
    if choice == "none":
        return "none"
    problem = bwrap_problem()
    if problem is not None:
        raise SandboxUnavailable(
            f"cannot grade in a sandbox (--sandbox {choice}): {problem}; {INSTALL_HINT}"
        )
    return "bwrap"


def kernel_argv(scratch: Path, sandbox: str, limits: Limits, env: dict[str, str]) -> list[str]:
    """The full kernel command, with ``{connection_file}`` for jupyter_client to fill in."""
    python = [
        sys.executable,
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
        "--HistoryManager.enabled=False",
    ]
    wrapper = prlimit_command(limits)
    if sandbox == "bwrap":
        wrapper += bwrap_command(scratch, env)
    return wrapper + python
