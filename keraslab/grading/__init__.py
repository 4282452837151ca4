"""Releasing exercise notebooks and grading submissions, nbgrader-compatible.

Instructors write solution notebooks with nbgrader's cell metadata and markers (see
`keraslab.grading.notebook`); an nbgrader course's ``source/`` notebooks work as they are.
``keraslab release`` makes the student notebooks (`keraslab.grading.release`); ``keraslab
grade`` scores submissions (`keraslab.grading.grade`); ``keraslab gradebook`` adds the points
given by hand and writes the final export. Hidden tests call `record` so that results are
compared outside the student's kernel.

One module per stage, each with a public interface and no import cycle between them:

- ``notebook``: nbgrader's cell metadata and markers; ``release`` and ``leaks``: student
  notebooks and the leak checks;
- ``assignment``: the solution prepared for grading, a submission merged into it, and the
  steps to run (``plan``); ``asserts``: plain asserts decided in the grader;
- ``protocol``: the grader's calls in the kernel (receipts, ``keep``) and reading them back;
  ``recording``: the kernel's side (``record``, ``receipt``, ``keep``);
- ``sandbox`` and ``execute``: where and how steps run (``run_notebook``);
- ``reference``: the solution's reference run and its cache; ``scoring``: points per
  question; ``feedback``; ``gradebook``: rows, hand grading, the final export;
- ``grade``: one submission, and the pool that grades them all; ``cli``: the command lines.

Threat model
------------
The student controls everything their kernel runs: their cells run before the tests, so they
can patch builtins, NumPy, ``assert``, IPython input/AST transformers, ``sys.settrace``, or
`record` itself; write any file the kernel can write; print anything; exit or crash the kernel;
loop forever or allocate without bound. The grader's process, the solution notebook, and
the rest of the machine are out of their reach (in bubblewrap's sandbox, which grading
requires unless told ``--sandbox none``).

What is guaranteed:

- **No points for results the student's code did not compute.** Points for a recorded
  result need a value equal (within the *solution's* tolerances) to the value the solution
  notebook records on the same cell, computed in a separate clean kernel and compared in the
  grader's process. Records are read from the kernel's replies to the test cell's own
  execution request: anything printed or written by other cells, or written to files,
  counts for nothing, so a record cannot be forged ahead of time or after the fact. Patching
  in the kernel can change only the student's own values.
- **A neutered test scores 0.** Each visible and hidden part of a test cell runs as its own
  request and ends with a receipt carrying a fresh random nonce; the part counts only if the
  kernel replied "ok" and echoed the nonce. A missing record is 0 points for that question.
- **Hidden tests and solutions are not on the student's disk.** The kernel's working
  directory holds only a copy of the submission; in bubblewrap's sandbox nothing else of the
  project (solutions, tests, gradebook) is visible and there is no network.
- **No sandbox only by name.** Grading fails closed: where bubblewrap cannot run (it is Linux
  only, and must be installed: ``apt-get install bubblewrap``) ``keraslab grade`` refuses,
  saying how to install it, unless the instructor passes ``--sandbox none``.
- **Locked and test cells are the instructor's.** They are restored by ``grade_id``
  (re-added when deleted); edits and deletions are listed in the gradebook.
- **Every submission gets a row**, with a status (``ok``, ``timeout``, ``kernel-died``,
  ``unreadable``, ``kernel-failed``, ``wrong-notebook``, ``grader-error``), whatever the
  notebook does, and its own feedback file. Time (per cell, per notebook) and memory (address
  space) are limited.
- **Output never costs points.** Printed output beyond ``Limits.output_bytes`` is dropped,
  but records and receipts have their own budget; outputs saved in the submission are dropped
  on reading; feedback cuts output before any pattern runs over it.
- **Feedback is written by the grader**: points, grader-written reasons and the output of
  visible test parts only, with any line of solution, hidden-test or mark-scheme text
  redacted. It never includes hidden-test source or hidden-part tracebacks; a failing hidden
  record is named by the sentence the solution's test gave it (or a number), never by its key,
  its expected value or the size of the difference.

What is not guaranteed:

- Plain ``assert`` test cells (nbgrader style) are decided in the grader's process
  (`keraslab.grading.asserts`): the kernel sends the values of the calls of the solution's
  names (and of the test's variables) and the grader evaluates the assertion on them with its
  own builtins and modules, so patched builtins, NumPy or an AST transformer cannot pass a
  wrong value. Left to the kernel, with nbgrader's guarantees only: asserts inside loops,
  functions, comprehensions or lambdas, and checks on values that are not plain data (a
  model). The test's own data are computed in the student's kernel. Use `record` for
  anything that matters.
- An answer that imports keraslab's own implementation of the exercise (the sandbox mounts the
  package) runs and scores; it is flagged in the gradebook's ``flags`` column.
- A result that can be guessed without solving the exercise (a shape, a boolean) can be
  returned or forged; record values that depend on hidden inputs.
- Hidden tests run in the student's kernel, which sees their code. A determined student can
  smuggle it out in encoded form through the visible output shown in the feedback
  (verbatim copies are redacted): treat hidden inputs as secret until grading, not after.
- With ``--sandbox none`` the kernel runs as the grader's user and can read whatever that user
  can (the solution notebook, and the files of kernels grading other submissions at the same
  time): a wrong answer that reads the instructor's file scores.
- Processes and disk are not capped: a fork bomb or a disk-filling loop is stopped only by
  the time limits (each file is capped at ``Limits.file_size``).
"""

from keraslab.grading.recording import record

__all__ = ["record"]
