"""Every reach into Gradio's private API or import-time behaviour, applied only to the Gradio version it was written
for (``PATCHED_GRADIO``, the pin in requirements.txt).

Each patch skips work Gradio does that this app never uses; docs/PERFORMANCE.md ("Startup", "What the app adds")
has the bench figure for each, and tests/test_gradio_patches.py has a test per patch that fails when the thing it
patches moves in Gradio. ``apply()`` runs before the first ``import gradio`` (``minicpm_demo/ui/__init__.py``).
With any other Gradio installed it patches nothing and logs one line: the app works the same, it only starts
slower and its queue polls at Gradio's own pace.

- **No type-stub rewriting.** For every component class it defines at import, Gradio calls
  ``gradio.component_meta.create_or_modify_pyi``, which re-parses the component's source and ``.pyi`` and rewrites
  the stub in site-packages when they differ. That keeps editor hints in step while Gradio itself is developed;
  the wheel's stubs are already up to date, so for this process that one function becomes a no-op.
- **pandas later.** Gradio imports pandas (and pyarrow) at import for ``gr.Cache`` hashing, the Dataframe
  component and queue statistics, none of which the page needs before it is served. ``sys.modules["pandas"]``
  starts as a stand-in that runs the real import the first time a pandas attribute is read;
  ``finish_deferred_imports()`` runs it in the background once the page is up, so no request waits for it.
- **The web server built once.** ``gr.Blocks()``, the end of its ``with`` block and ``.queue()`` each build a
  complete FastAPI app so that ``demo.app`` exists before launch; ``launch()`` then builds the one that serves.
  Inside ``server_app_built_at_launch()`` the first three are skipped (``demo.app`` stays None until launch).
- **Queue polling.** Gradio's queue wakes up at short fixed intervals to look for new work and for progress
  updates; ``set_queue_polling()`` sets those intervals (``ui/pacing.py`` decides them).
- **Queue reads.** Fair queueing and each kind of request's own room in the queue (``ui/fairness.py``) read which
  requests wait and run: ``waiting_requests()``, ``queued()``, ``concurrency_id_of()``.
- **Lean sessions.** Each session (up to 10,000 are kept) gets its own copy of every component's config, made up
  front, and for every event Gradio writes into it the value each input sent and each output showed. Gradio reads
  that copy only to make deep links, which this app does not offer; yet it makes any request from a new session
  cost a config's worth of time and memory, and keeps every question sent to ``/chat``, refused or not, for as
  long as the session. ``lean_sessions(demo)`` makes ``demo``'s sessions start with an empty copy and skips the
  writes of values.
- **MCP behind --auth.** Gradio's MCP server calls a queued tool through a client of its own app that it makes
  without credentials, which ``--auth`` refuses; ``sign_in_mcp_loopback()`` gives it one signed in (the MCP
  client's own credentials are checked before, by ``ui/mcp_tools.McpGate``).
- **The Sign in button's label.** ``gr.LoginButton`` reads the session through ``gr.Request``, which fails on the
  list of organizations in a Hugging Face profile; ``sign_in_button_reads_the_session()`` has it read the session
  as Starlette holds it.
- **matplotlib's backend chosen up front.** Gradio switches matplotlib to "agg" and back around every event when
  matplotlib is installed; with the backend left to auto-detection, the first switch runs the detection, which
  delays the first event. ``MPLBACKEND=agg`` (unless set) spares it: a server never needs an interactive backend.
"""

from minicpm_demo.ui.gradio_patches.login import sign_in_button_reads_the_session
from minicpm_demo.ui.gradio_patches.mcp import sign_in_mcp_loopback
from minicpm_demo.ui.gradio_patches.queue import (
    QueuePolling,
    concurrency_id_of,
    fn_index_of,
    queue_polling,
    queued,
    set_queue_polling,
    waiting_requests,
)
from minicpm_demo.ui.gradio_patches.sessions import lean_sessions
from minicpm_demo.ui.gradio_patches.startup import (
    DeferredModule,
    apply,
    finish_deferred_imports,
    server_app_built_at_launch,
)
from minicpm_demo.ui.gradio_patches.version import PATCHED_GRADIO, enabled, installed_gradio_version

__all__ = ["PATCHED_GRADIO", "DeferredModule", "QueuePolling", "apply", "concurrency_id_of", "enabled",
           "finish_deferred_imports", "fn_index_of", "installed_gradio_version", "lean_sessions", "queue_polling",
           "queued", "server_app_built_at_launch", "set_queue_polling", "sign_in_button_reads_the_session",
           "sign_in_mcp_loopback", "waiting_requests"]
