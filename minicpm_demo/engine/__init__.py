"""Engines turn model-card messages plus settings into streamed deltas."""

from minicpm_demo.engine.base import Delta, Engine, EngineNotReady, EngineStatus, ReplyStats
from minicpm_demo.engine.local import LocalEngine
from minicpm_demo.engine.remote import RemoteEngine, RemoteError, RemoteSpec

__all__ = ["Delta", "Engine", "EngineNotReady", "EngineStatus", "LocalEngine", "RemoteEngine", "RemoteError",
           "RemoteSpec", "ReplyStats"]
