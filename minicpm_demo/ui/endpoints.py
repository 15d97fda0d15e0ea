"""The endpoints for scripts and agents, beside the page: ``/chat``, ``/preflight``, ``/status``, and with
``--mcp`` the MCP server's tools."""

from __future__ import annotations

from minicpm_demo.ui import api
from minicpm_demo.ui.mcp_tools import add_mcp_tools
from minicpm_demo.ui.pacing import QueuePacer
from minicpm_demo.ui.preflight_api import add_preflight_endpoint
from minicpm_demo.ui.status_api import add_status_endpoint


def add_endpoints(engine, demo, pacer: QueuePacer, *, concurrency_id: str, concurrency_limit: int,
                  update_interval_s: float, mcp: bool = False) -> None:
    """Inside ``with demo:``; the requests that run the model share the page's queue (``concurrency_id``)."""
    api.add_chat_endpoint(engine, pacer, concurrency_id=concurrency_id, concurrency_limit=concurrency_limit,
                          update_interval_s=update_interval_s)
    add_preflight_endpoint(engine)
    add_status_endpoint(engine, demo, concurrency_id)
    if mcp:
        add_mcp_tools(engine, pacer, concurrency_id=concurrency_id, concurrency_limit=concurrency_limit)
