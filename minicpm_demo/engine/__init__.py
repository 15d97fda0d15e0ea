"""Engines turn model-card messages plus settings into a prepared request, then into streamed text;
``pipeline.run_request`` runs both steps for every engine."""

from minicpm_demo.engine.base import (
    Engine,
    EngineNotReady,
    EngineStatus,
    Generated,
    MediaGiven,
    Prepared,
    ReasoningText,
    ResourceError,
)
from minicpm_demo.engine.local import LocalEngine
from minicpm_demo.engine.pipeline import Delta, ReplyStats, run_request
from minicpm_demo.engine.remote import RemoteEngine, RemoteError, RemoteSpec

__all__ = ["Delta", "Engine", "EngineNotReady", "EngineStatus", "Generated", "LocalEngine", "MediaGiven", "Prepared",
           "ReasoningText", "RemoteEngine", "RemoteError", "RemoteSpec", "ReplyStats", "ResourceError", "run_request"]
