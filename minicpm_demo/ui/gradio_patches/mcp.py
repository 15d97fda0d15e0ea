"""The MCP server behind ``--auth``: Gradio's MCP server runs a queued tool through a ``gradio_client`` Client of
its own app, which it makes without credentials, so behind ``--auth`` every tool call is refused. This gives it
one signed in as the first user; ``ui/mcp_tools.McpGate`` has already checked the MCP client's own credentials."""

from __future__ import annotations

from minicpm_demo.ui.gradio_patches.version import enabled


def sign_in_mcp_loopback(demo, credentials: list[tuple[str, str]]) -> bool:
    """Once ``demo`` is launched with ``mcp_server=True`` and ``auth``: its MCP tools' calls go in as
    ``credentials[0]``. Returns whether it did (not with another Gradio, nor without an MCP server or auth)."""
    server = getattr(demo, "mcp_server_obj", None)
    if not enabled() or server is None or not credentials or not hasattr(server, "_client_instance"):
        return False
    from gradio_client import Client

    # as Gradio makes its own (gradio/mcp.py, _get_or_create_client), with the sign-in added
    server._client_instance = Client(server.local_url or demo.local_url, auth=credentials[0], download_files=False,
                                     verbose=False, analytics_enabled=False, ssl_verify=False,
                                     _skip_components=False, headers={"x-gradio-user": "mcp"})
    return True
