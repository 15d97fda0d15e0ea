"""The remote engine: the same UI and ``/chat`` API in front of an OpenAI-compatible server (vLLM, SGLang,
llama.cpp's server, ``transformers serve``), streamed with the ``openai`` client.

Media are opened here with the same intake as the local engine (so a bad upload gets the same message) and
sent inline: images as data: URLs, videos as a data: URL or as sampled frames, per ``servers.ServerProfile``.
"""

from __future__ import annotations

import logging
import mimetypes
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from minicpm_demo.cancel import never
from minicpm_demo.engine.base import EngineNotReady, EngineStatus, Generated, Prepared, ReasoningText
from minicpm_demo.engine.data_urls import data_url, frame_url, image_url
from minicpm_demo.engine.intake import Intake
from minicpm_demo.engine.pipeline import STOP_POLL_S
from minicpm_demo.engine.preflight import Calibration
from minicpm_demo.engine.servers import PROFILES, OnTheServer, ServerProfile, detect_server
from minicpm_demo.media import MediaLimits, detect_kind
from minicpm_demo.settings import MODALITIES, RequestLimits, Settings

log = logging.getLogger(__name__)

_OPENAI_FIELDS = {"model", "messages", "stream", "stream_options", "max_tokens", "temperature", "top_p",
                  "frequency_penalty"}
# A setting left at a tab's default is not worth a note when the server cannot take it; a changed one is.
_DEFAULT_VALUES = {name: {getattr(Settings.for_modality(modality), name) for modality in MODALITIES}
                   for name in Settings.__dataclass_fields__}


class RemoteError(RuntimeError):
    """The model server could not answer; the message says what happened and what to check."""


@dataclass(frozen=True)
class RemoteSpec:
    api_base: str
    api_key: str | None = None
    served_model: str | None = None  # None: the first model the server lists
    server: str = "auto"  # a servers.PROFILES name, or "auto" to ask the server
    timeout_s: float = 300.0

    @property
    def model_id(self) -> str:
        return self.served_model or self.api_base


class RemoteEngine(OnTheServer):
    def __init__(self, spec: RemoteSpec, limits: MediaLimits = MediaLimits(),
                 request_limits: RequestLimits = RequestLimits()):
        import httpx
        from openai import OpenAI  # the remote backend's own dependency; the local path never imports it

        self.spec = spec
        self.limits = limits
        self.request_limits = request_limits  # the server counts the tokens; the text's bounds are checked in ui/
        self._client = OpenAI(base_url=spec.api_base.rstrip("/"), api_key=spec.api_key or "not-needed",
                              max_retries=0, timeout=httpx.Timeout(spec.timeout_s, connect=10.0))
        self._profile: ServerProfile | None = PROFILES.get(spec.server)
        self._model: str | None = spec.served_model
        self._error: str | None = None
        self._connected = False
        self._lock = threading.Lock()
        self._video_sampler = None
        self.calibration = Calibration()  # stays without an estimate: the server counts the prompt, not this app

    # ---- connecting ----------------------------------------------------------------------------
    def start_loading(self) -> None:
        """Ask the server what it serves (once, synchronously: one short GET). Failures show in the status."""
        with self._lock:
            if not self._connected:
                self._connect()

    def wait_until_loaded(self, timeout: float | None = None) -> EngineStatus:
        self.start_loading()
        return self.status()

    def _connect(self) -> None:
        try:
            listing = self._client.models.list(timeout=10.0)
        except Exception as error:  # every failure becomes the status line's message
            self._error = self._explain(error)
            log.error("model server not reachable: %s", self._error)
            return
        raw = listing.model_dump()
        served = [entry.get("id") for entry in raw.get("data") or [] if entry.get("id")]
        if self._model is None:
            if not served:
                self._error = (f"The model server at {self.spec.api_base} lists no models. "
                               "Start it with a model, or name one with --served-model.")
                return
            self._model = served[0]
        elif served and self._model not in served:
            self._error = (f"The model server at {self.spec.api_base} does not serve {self._model!r}; it serves "
                           f"{', '.join(map(repr, served))}. Fix --served-model.")
            return
        if self._profile is None:
            self._profile = PROFILES[detect_server(raw)]
        self._error, self._connected = None, True
        log.info("remote backend: %s at %s, model %s", self._profile.label, self.spec.api_base, self._model)

    @property
    def profile(self) -> ServerProfile:
        return self._profile or PROFILES["openai"]

    def unsupported_settings(self) -> dict[str, str]:
        return dict(self.profile.unsupported)

    def status(self) -> EngineStatus:
        if self._error:
            return EngineStatus("error", self._error)
        if not self._connected:
            return EngineStatus("loading", f"Connecting to {self.spec.api_base}")
        warnings = []
        if self.profile.unsupported:
            warnings.append(f"{self.profile.label} cannot take: {', '.join(self.profile.unsupported)} "
                            "(those settings are not applied)")
        return EngineStatus("ready", f"`{self._model}` · {self.profile.label} at {self.spec.api_base}",
                            {"model": self._model, "server": self.profile.name, "api_base": self.spec.api_base,
                             "warnings": warnings})

    def ready_model(self) -> str:
        """The served model's name; reconnects when the server was down, else explains why it cannot answer."""
        with self._lock:
            if not self._connected:
                self._connect()
        if not self._connected:
            raise EngineNotReady(self._error)
        return self._model

    # ---- one request ---------------------------------------------------------------------------
    def prepare(self, messages: list[dict[str, Any]], settings: Settings,
                cancelled: Callable[[], bool] = never, within_limits: bool = True,
                conversation: str | None = None) -> Prepared:
        """The chat-completions request body for ``messages``, with notes on what could not be sent as asked
        (the server counts the tokens, holds the request to its own limits and caches prefixes on its own).
        Raises ``Cancelled`` when ``cancelled()`` turns true while a video is decoded."""
        profile = self.profile
        intake = Intake.for_messages(messages, self.limits, cancelled)
        sent_messages = intake.resolve(partial(self._parts, settings, intake))
        body: dict[str, Any] = {"model": self._model, "messages": sent_messages, "stream": True,
                                "max_tokens": settings.max_new_tokens,
                                "temperature": settings.temperature if settings.do_sample else 0.0}
        if settings.do_sample:
            body["top_p"] = settings.top_p
        template_kwargs: dict[str, Any] = {}
        if profile.thinking:
            template_kwargs["enable_thinking"] = settings.enable_thinking
        for name, request_field in profile.extra_sampling.items():
            value = getattr(settings, name)
            if name == "top_k" and (not settings.do_sample or value == 0):
                continue
            if request_field == "frequency_penalty":  # transformers serve: repetition_penalty = 1 + this
                value = round(value - 1.0, 6)
            body[request_field] = value
        processor_kwargs = {name: value for name, value in settings.to_processor_kwargs().items()
                            if profile.accepts(name)}
        if profile.video_as == "frames":
            processor_kwargs.pop("max_num_frames", None)  # already applied when sampling here
        if profile.processor_kwargs_field == "chat_template_kwargs":
            template_kwargs.update(processor_kwargs)
        elif profile.processor_kwargs_field and processor_kwargs:
            body[profile.processor_kwargs_field] = processor_kwargs
        if template_kwargs:
            body["chat_template_kwargs"] = template_kwargs
        for name, reason in profile.unsupported.items():
            if getattr(settings, name) not in _DEFAULT_VALUES[name]:
                intake.notes.append(f"{name}={getattr(settings, name)} not applied: {reason}")
        # the messages carry the media as data: URLs, so the record of the call leaves them out
        call = {key: value for key, value in body.items() if key != "messages"}
        return Prepared(inputs=body, calls={"chat.completions.create": call}, media=tuple(intake.media),
                        notes=tuple(intake.notes))

    def _parts(self, settings: Settings, intake: Intake, item: dict[str, Any]) -> list[dict[str, Any]]:
        """What a media item is sent as: an image as a data: URL, a video as the file or as sampled frames."""
        path = item["path"]
        if item["type"] == "image":
            return [{"type": "image_url", "image_url": {"url": image_url(image)}} for image in intake.images(path)]
        if self.profile.video_as == "url" and detect_kind(path) == "video":
            intake.whole_video(path)  # size, duration and decodability: the same messages as locally
            mime = mimetypes.guess_type(path)[0] or "video/mp4"
            with open(path, "rb") as file:
                return [{"type": "video_url", "video_url": {"url": data_url(file.read(), mime)}}]
        sampled = intake.video(path, partial(self._sampler().sample_frames, max_num_frames=settings.max_num_frames,
                                             stack_frames=1))
        intake.notes.append(f"{intake.media[-1].name}: sent as {len(sampled.frames)} frames ({self.profile.label} "
                            "takes no video)")
        return [{"type": "image_url", "image_url": {"url": frame_url(frame)}} for frame in sampled.frames]

    def _sampler(self):
        """MiniCPM-V 4.6's own video processor (its defaults are the real model's) picks which frames to send."""
        if self._video_sampler is None:
            from transformers import MiniCPMV4_6VideoProcessor

            self._video_sampler = MiniCPMV4_6VideoProcessor()
        return self._video_sampler

    def generate(self, prepared: Prepared, stop: threading.Event) -> Iterator[str | Generated]:
        body = {**prepared.inputs, "stream_options": {"include_usage": True}}
        standard = {key: value for key, value in body.items() if key in _OPENAI_FIELDS}
        extra = {key: value for key, value in body.items() if key not in _OPENAI_FIELDS}
        try:
            response = self._client.chat.completions.create(**standard, extra_body=extra or None)
        except Exception as error:
            raise RemoteError(self._explain(error)) from None
        # Stop closes the HTTP stream right away, even while the server is still reading the prompt.
        finished = threading.Event()
        closer = threading.Thread(target=_close_on_stop, args=(response, stop, finished), daemon=True,
                                  name="remote-stop")
        closer.start()
        try:
            usage = None
            try:
                for chunk in response:
                    usage = chunk.usage or usage
                    for choice in chunk.choices:
                        extra = choice.delta.model_extra or {}
                        reasoning = extra.get("reasoning_content") or extra.get("reasoning")
                        if reasoning:  # split by the server's reasoning parser
                            yield ReasoningText(reasoning)
                        if choice.delta.content:
                            yield choice.delta.content
            except Exception as error:
                if not stop.is_set():
                    raise RemoteError(self._explain(error)) from None
            if usage is not None:
                yield Generated(usage.completion_tokens, prompt_tokens=usage.prompt_tokens)
        finally:  # also reached when the consumer closes us: the server drops a generation whose stream closes
            finished.set()
            closer.join(timeout=5)
            response.close()

    # ---- errors --------------------------------------------------------------------------------
    def _explain(self, error: Exception) -> str:
        import openai

        where = f"the model server at {self.spec.api_base}"
        if isinstance(error, openai.APITimeoutError):
            return (f"{where} did not answer within {self.spec.timeout_s:.0f} s. It may be overloaded; try again, "
                    "ask for less (fewer frames, fewer slices) or raise --api-timeout.")
        if isinstance(error, openai.APIConnectionError):
            cause = error.__cause__ or error
            return (f"Cannot reach {where} ({type(cause).__name__}: {cause}). Check that it is running and that "
                    "--api-base is right (it usually ends in /v1).")
        if isinstance(error, openai.AuthenticationError):
            return f"{where} refused the API key (401). Set the right one with --api-key."
        if isinstance(error, openai.PermissionDeniedError):
            return f"{where} refused access (403). Check --api-key."
        if isinstance(error, openai.NotFoundError):
            return (f"{where} answered 404 ({_detail(error)}). Check --api-base (usually ending in /v1) and "
                    "--served-model.")
        if isinstance(error, openai.RateLimitError):
            return f"{where} is rate-limiting requests (429). Wait a moment and send again."
        if isinstance(error, openai.APIStatusError):
            status = error.status_code
            if status >= 500:
                return (f"{where} failed while answering ({status}: {_detail(error)}). Try again; if it keeps "
                        "failing, check the server's log.")
            return f"{where} rejected the request ({status}: {_detail(error)})."
        if isinstance(error, openai.APIError):
            return f"{where} stopped with an error: {_detail(error)}. Try again; check the server's log if it persists."
        return f"Talking to {where} failed ({type(error).__name__}: {error})."


def _close_on_stop(response, stop: threading.Event, finished: threading.Event) -> None:
    while not finished.wait(STOP_POLL_S):
        if stop.is_set():
            response.close()
            return


def _detail(error) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("message") or body.get("error")
        if isinstance(detail, dict):
            detail = detail.get("message") or detail
        if detail:
            return str(detail)[:300]
    return (getattr(error, "message", None) or str(error))[:300]

