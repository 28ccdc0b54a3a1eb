"""A session: find the photos, retouch each in a worker process, resume, report.

`plan` finds every supported photo of a session folder and names its output; `run` hands one task per
photo to an executor (worker processes on this machine, or a Dask cluster) and gathers the small rows
they send back, never pixels, so memory stays bounded however large the session. Every photo goes
through `job.retouch_file`, the same path as `retouch apply`, so an output is the same whichever
executor made it.

Resuming: a photo whose output, XMP sidecar and edit record already exist as one unit for the same input
sha256 and preset digest is skipped (outputs.examine), so running the same command again after an
interruption does only what is left; a unit whose files do not match (a run killed while writing it) is
redone. An output made from another photo, one that carries a review decision, or a file retouch did not
make is never replaced without `overwrite`, and with it is moved into OUT_DIR/.retouch-replaced/RUN/
first. One batch at a time writes an OUT_DIR (files.FolderLock); temporaries a killed run left there are
removed. A photo that fails is reported with its reason and the session goes on, except on a full disk,
where no new photo is started and the report is still written if it fits.

Files by job: planning.py (discovery, output names, resume), worker.py (one photo; the worker's allocator,
models and signals), executors.py (local processes, Dask), report.py (rows, checklist, report files,
summary), session.py (`run`). The terminal progress line is the command line's (retouch.cli).
"""
from .executors import (WORKER_MEMORY, DaskExecutor, EngineError, Executor, LocalExecutor, default_workers,
                        make_executor)
from .planning import (FORMAT_SUFFIX, Plan, SessionError, Task, check_folders, check_output, discover, existing,
                       needs_a_face, output_names, output_suffix, plan, preview)
from .report import CHECKLIST_SHARE, Report, checklist, save, summary_lines
from .session import Progress, run
from .worker import (KEEP_FREED_BYTES, WorkerDied, check_access, keep_freed_memory, load_models, process,
                     threads_per_worker)

__all__ = ["CHECKLIST_SHARE", "FORMAT_SUFFIX", "KEEP_FREED_BYTES", "WORKER_MEMORY", "DaskExecutor", "EngineError",
           "Executor", "LocalExecutor", "Plan", "Progress", "Report", "SessionError", "Task", "WorkerDied",
           "check_access", "check_folders", "check_output", "checklist", "default_workers", "discover",
           "existing", "keep_freed_memory", "load_models", "make_executor", "needs_a_face", "output_names",
           "output_suffix", "plan", "preview", "process", "run", "save", "summary_lines", "threads_per_worker"]
