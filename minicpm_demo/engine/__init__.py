"""Engines turn model-card messages plus settings into streamed deltas."""

from minicpm_demo.engine.base import Delta, Engine, EngineStatus, ReplyStats
from minicpm_demo.engine.local import EngineNotReady, LocalEngine

__all__ = ["Delta", "Engine", "EngineNotReady", "EngineStatus", "LocalEngine", "ReplyStats"]
