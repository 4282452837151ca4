"""Running a list of code steps in a fresh, limited kernel and keeping what each step printed.

The executor (`nbclient`) runs in the grader's process; only the kernel runs in the sandbox.
Each step's outputs are the messages the kernel sent *in reply to that step's request*, so a
result can be tied to the step that produced it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from keraslab.grading import protocol
from keraslab.grading import sandbox as sandboxing

TIMEOUT_ERROR_NAME = "CellTimeoutError"

# nbclient logs every timeout and dead kernel as an error; the grader reports them itself.
_QUIET_LOG = logging.getLogger("keraslab.grading.nbclient")
_QUIET_LOG.addHandler(logging.NullHandler())
_QUIET_LOG.propagate = False
_QUIET_LOG.disabled = True


@dataclasses.dataclass
class Step:
    """One piece of code to run: a cell, or one visible or hidden part of a test cell.

    Attributes:
        source: the code.
        kind: ``"cell"``, ``"visible"`` (visible part of a test cell) or ``"hidden"``.
        grade_id: the nbgrader id of the cell it comes from, if any.
        cell_index: position of that cell in the graded notebook.
        nonce: for test parts, the secret the appended receipt call must echo back.
        checks: for test parts, the asserts the grader decides itself
            (`keraslab.grading.asserts.Check`).
        shown: for test parts, the cell's own lines this step runs, as written (``source``
            has them in the same places, rewritten).
        first_line: the line of the test part on which ``shown`` starts.
        part: for test parts, its number among the steps of its cell (0, 1, ...).
    """

    source: str
    kind: str = "cell"
    grade_id: str | None = None
    cell_index: int = 0
    nonce: str | None = None
    checks: list = dataclasses.field(default_factory=list)
    shown: str | None = None
    first_line: int = 1
    part: int = 0

    @property
    def is_test(self) -> bool:
        return self.kind != "cell"

    @property
    def label(self) -> str:
        """How messages name the step's cell: by position, and by grade_id when it has one."""
        return f"cell {self.cell_index}" + (f" ({self.grade_id})" if self.grade_id else "")


@dataclasses.dataclass
class StepResult:
    # "ok", "error", "timeout", "died", "not-run", or "skipped" (an earlier part of its test
    # cell failed, so the rest of the cell does not run, as in nbgrader)
    status: str = "not-run"
    error_name: str | None = None
    error_value: str | None = None
    outputs: list = dataclasses.field(default_factory=list)
    execution_count: int | None = None  # the kernel's number for the request (``In[n]``)


@dataclasses.dataclass
class Execution:
    """What happened to one notebook run.

    Attributes:
        status: ``"ok"`` (every step ran), ``"timeout"`` (a cell or the notebook hit its time
            limit), ``"kernel-died"`` or ``"kernel-failed"`` (the kernel did not start).
        message: a short, grader-written explanation.
        results: one `StepResult` per step.
        startup_seconds: time to start the kernel.
        run_seconds: time spent running steps.
        truncated: output beyond ``Limits.output_bytes`` was dropped.
    """

    status: str
    message: str
    results: list[StepResult]
    startup_seconds: float = 0.0
    run_seconds: float = 0.0
    truncated: bool = False


class _FixedSpecManager(KernelSpecManager):
    """Serves one kernel spec, so no user or system kernel spec can change what runs."""

    def __init__(self, argv: list[str], **kwargs):
        super().__init__(**kwargs)
        self._spec = KernelSpec(
            argv=argv,
            display_name="keraslab grading",
            language="python",
            # A signal to the sandbox's outer process would not reach the kernel inside.
            interrupt_mode="message",
        )

    def get_kernel_spec(self, kernel_name):
        return self._spec

    def find_kernel_specs(self):
        return {"keraslab-grading": ""}


class _CappedClient(NotebookClient):
    """A notebook client that stops keeping output beyond a byte budget.

    Records and receipts have their own budget (as large again), so a student who prints a
    lot loses the printed output, never the results that score their tests.
    """

    def __init__(self, *args, output_budget: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_budget = output_budget
        self.grading_budget = output_budget
        self.truncated = False

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        data = content.get("data") if isinstance(content, dict) else None
        grading = isinstance(data, dict) and any(mime in data for mime in protocol.MIMES)
        budget = "grading_budget" if grading else "output_budget"
        # Stream text is most of a heavy output: measure it without serializing it again.
        text = content.get("text") if isinstance(content, dict) else None
        if isinstance(text, str) and msg.get("msg_type") == "stream":
            cost = len(text) + 64
        else:
            cost = len(json.dumps(content, default=str))
        if cost > getattr(self, budget):
            self.truncated = True
            setattr(self, budget, 0)
            return None
        setattr(self, budget, getattr(self, budget) - cost)
        return super().output(outs, msg, display_id, cell_index)


def _kill_kernel(km) -> None:
    provisioner = getattr(km, "provisioner", None)
    pgid = getattr(provisioner, "pgid", None)
    process = getattr(provisioner, "process", None)
    try:
        if pgid:
            os.killpg(pgid, signal.SIGKILL)
        elif process is not None:
            process.kill()
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _failed(step: Step, result: StepResult) -> bool:
    return result.status != "ok"


class _Run:
    """One notebook run: the kernel, the client that talks to it and what happened so far."""

    def __init__(self, steps, scratch: Path, sandbox: str, limits: sandboxing.Limits, ends_cell):
        workdir, runtime = sandboxing.scratch_layout(scratch)
        self.env = sandboxing.kernel_environment(runtime)
        self.workdir = workdir
        self.steps = steps
        self.limits = limits
        self.ends_cell = ends_cell or _failed
        self.km = AsyncKernelManager(
            kernel_spec_manager=_FixedSpecManager(
                sandboxing.kernel_argv(scratch, sandbox, limits, self.env)
            ),
            kernel_name="keraslab-grading",
            transport="ipc",
            ip=str(runtime / "ipc"),
            connection_file=str(runtime / "kernel.json"),
        )
        self.nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(s.source) for s in steps]
        )
        self.results = [StepResult() for _ in steps]
        self.replies: dict[int, dict] = {}
        self.client = self._client()
        self.status, self.message = "ok", "every cell ran"
        self.over = False
        self.start = time.monotonic()
        self.deadline = self.start + limits.notebook_timeout
        self.startup_seconds = 0.0

    def _client(self) -> _CappedClient:
        limits = self.limits

        def remember_reply(cell, cell_index, execute_reply):
            self.replies[cell_index] = (execute_reply or {}).get("content", {})

        return _CappedClient(
            self.nb,
            km=self.km,
            timeout=int(limits.cell_timeout),
            startup_timeout=int(min(120, limits.notebook_timeout)),
            interrupt_on_timeout=True,
            error_on_timeout={
                "ename": TIMEOUT_ERROR_NAME,
                "evalue": f"the cell ran longer than {limits.cell_timeout:g} s",
                "traceback": [],
            },
            allow_errors=True,
            record_timing=False,
            iopub_timeout=4,
            log=_QUIET_LOG,
            output_budget=limits.output_bytes,
            on_cell_executed=remember_reply,
            resources={"metadata": {"path": str(self.workdir)}},
        )

    def _end(self, status: str, message: str) -> None:
        """Ends the run: no later step runs."""
        self.status, self.message, self.over = status, message, True

    @property
    def _notebook_timeout_message(self) -> str:
        return f"the notebook ran longer than {self.limits.notebook_timeout:g} s and was stopped"

    async def _start_kernel(self) -> str | None:
        """Starts the kernel and its client; returns why it did not start, or `None`."""
        try:
            # The kernel's own stdout/stderr (banners, crash dumps) are not the student's output.
            await asyncio.wait_for(
                self.client.async_start_new_kernel(
                    env=self.env,
                    cwd=str(self.workdir),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                ),
                timeout=self.limits.notebook_timeout,
            )
            await asyncio.wait_for(
                self.client.async_start_new_kernel_client(),
                timeout=max(1.0, self.deadline - time.monotonic()),
            )
        except Exception as error:  # start-up failures come in many types; all mean the same
            return f"the kernel did not start: {error}"
        self.startup_seconds = time.monotonic() - self.start
        return None

    async def _run_steps(self) -> None:
        ended: set[int] = set()  # test cells that stopped at a failing part
        for index, step in enumerate(self.steps):
            if step.is_test and step.cell_index in ended:
                self.results[index] = StepResult("skipped")
                continue
            result = await self._run_step(index, step)
            self.results[index] = result
            if self.over:
                return  # the kernel is gone or the notebook's time is up
            if step.is_test and self.ends_cell(step, result):
                ended.add(step.cell_index)

    async def _run_step(self, index: int, step: Step) -> StepResult:
        remaining = self.deadline - time.monotonic()
        self.client.timeout = max(1, int(min(self.limits.cell_timeout, remaining)))
        cell = self.nb.cells[index]
        try:
            await self.client.async_execute_cell(cell, index)
        except DeadKernelError:
            if time.monotonic() >= self.deadline - 1.0:
                # nbclient reports its own cancellation at the deadline as a dead kernel.
                self._end("timeout", self._notebook_timeout_message)
                return StepResult("timeout", outputs=list(cell.get("outputs", [])))
            self._end("kernel-died", f"the kernel died while running {step.label}")
            return StepResult("died", outputs=list(cell.get("outputs", [])))
        except CellTimeoutError:
            self._end("timeout", f"{step.label} hit the time limit")
            return StepResult("timeout", TIMEOUT_ERROR_NAME)
        return self._step_result(step, self.replies.get(index, {}), cell)

    def _step_result(self, step: Step, reply: dict, cell) -> StepResult:
        result = StepResult(
            "ok", outputs=list(cell.get("outputs", [])), execution_count=cell.get("execution_count")
        )
        if reply.get("status") == "error":
            result.status = "error"
            result.error_name = str(reply.get("ename", ""))[:200]
            result.error_value = str(reply.get("evalue", ""))[:2000]
            if result.error_name == TIMEOUT_ERROR_NAME:
                # Interrupted at the cell's time limit: the run goes on with the next cell.
                result.status = "timeout"
                if self.status == "ok":
                    self.status = "timeout"
                    self.message = (
                        f"{step.label} ran longer than "
                        f"{self.limits.cell_timeout:g} s and was interrupted"
                    )
                return result
        elif reply.get("status") != "ok":
            result.status = "error"
            result.error_name = "no reply"
        return result

    async def _shut_down(self) -> None:
        _kill_kernel(self.km)
        try:
            await asyncio.wait_for(self.km.shutdown_kernel(now=True), timeout=10)
        except Exception:  # the kernel is already gone or never started
            pass
        try:
            self.client.kc and self.client.kc.stop_channels()
        except Exception:
            pass

    async def run(self) -> Execution:
        try:
            problem = await self._start_kernel()
            if problem is not None:
                return Execution("kernel-failed", problem, self.results)
            try:
                await asyncio.wait_for(
                    self._run_steps(), timeout=max(0.1, self.deadline - time.monotonic())
                )
            except asyncio.TimeoutError:
                self._end("timeout", self._notebook_timeout_message)
        finally:
            await self._shut_down()
        return Execution(
            self.status,
            self.message,
            self.results,
            startup_seconds=self.startup_seconds,
            run_seconds=time.monotonic() - self.start - self.startup_seconds,
            truncated=self.client.truncated,
        )


def execute_steps(
    steps: list[Step],
    scratch: Path,
    *,
    sandbox: str,
    limits: sandboxing.Limits,
    ends_cell=None,
) -> Execution:
    """Runs ``steps`` in order in a new kernel working in ``scratch/work``.

    ``scratch/work`` is the kernel's working directory (put the submission there);
    ``scratch/kernel`` holds its connection file, sockets and settings.

    Errors in a step do not stop later cells; a timeout interrupts the step and moves on; a
    dead kernel or the notebook's deadline ends the run. A test cell is one unit, as in
    nbgrader: once ``ends_cell(step, result)`` is true for one of its parts (by default: the
    part did not finish "ok"), its later parts are ``"skipped"``. Safe to call from several
    threads.
    """
    return asyncio.run(_Run(steps, Path(scratch), sandbox, limits, ends_cell).run())


def run_notebook(
    steps: list[Step],
    submission_bytes: bytes | None,
    submission_name: str,
    *,
    sandbox: str,
    limits: sandboxing.Limits,
    files=None,
    ends_cell=None,
) -> Execution:
    """Runs planned steps (`keraslab.grading.assignment.plan`) in a fresh kernel, in a scratch
    folder removed afterwards; the submission (``submission_bytes``, unless `None`) and
    ``files`` (``{relative path: file}``, the assignment's other files) lie in its working
    directory. ``ends_cell`` is as in `execute_steps`."""
    # Short paths: Unix socket names are limited to about 100 bytes.
    scratch = Path(tempfile.mkdtemp(prefix="klg-"))
    try:
        workdir, _ = sandboxing.scratch_layout(scratch)
        for relative, source in (files or {}).items():
            target = workdir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        if submission_bytes is not None:
            (workdir / Path(submission_name).name).write_bytes(submission_bytes)
        return execute_steps(steps, scratch, sandbox=sandbox, limits=limits, ends_cell=ends_cell)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
