"""MiniCPM-V 4.6 demo — `python app.py --help` lists every option (each has an environment-variable twin).

The Space's entry point; the app itself is ``minicpm_demo/ui/launch.py``."""

from __future__ import annotations

import sys

from minicpm_demo.ui.launch import (
    ASSETS,
    EXAMPLES,
    after_launch,
    create_app,
    launch_kwargs,
    log_auth,
    main,
    queue_share,
)

__all__ = ["ASSETS", "EXAMPLES", "after_launch", "create_app", "launch_kwargs", "log_auth", "main", "queue_share"]

if __name__ == "__main__":
    main(sys.argv[1:])
