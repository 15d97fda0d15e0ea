"""What each kind of OpenAI-compatible server accepts beyond the OpenAI schema, and how to tell them apart.

A setting a server cannot take is never silently dropped: ``ServerProfile.unsupported`` names it with the
reason, the page's status line lists those, and a reply whose request changed one says so in its stats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROCESSOR_SETTINGS = ("downsample_mode", "max_slice_nums", "max_num_frames", "stack_frames", "use_image_id")
# Applied here, while sampling, when a server takes no video: so it still applies.
LOCALLY_SAMPLED = ("max_num_frames",)


@dataclass(frozen=True)
class ServerProfile:
    name: str  # the --api-server value
    label: str
    video_as: str  # "url": the file as a data: URL in a video_url part; "frames": sampled here, sent as images
    processor_kwargs_field: str | None  # where processor settings travel: "mm_processor_kwargs", a template kwarg, none
    thinking: bool  # chat_template_kwargs={"enable_thinking": …} is accepted
    extra_sampling: dict[str, str] = field(default_factory=dict)  # setting → request field for non-OpenAI knobs
    unsupported: dict[str, str] = field(default_factory=dict)  # setting → why this server cannot take it

    def accepts(self, setting: str) -> bool:
        return setting not in self.unsupported


def _unsupported_processor_settings(label: str, keep: tuple[str, ...] = ()) -> dict[str, str]:
    return {name: f"{label} takes no processor settings" for name in PROCESSOR_SETTINGS if name not in keep}


def _frames_only(label: str) -> dict[str, str]:
    return {"stack_frames": f"{label} takes no video, so videos are sent as one frame per sample"}


PROFILES: dict[str, ServerProfile] = {
    profile.name: profile for profile in (
        ServerProfile("vllm", "vLLM", video_as="url", processor_kwargs_field="mm_processor_kwargs", thinking=True,
                      extra_sampling={"top_k": "top_k", "repetition_penalty": "repetition_penalty"}),
        ServerProfile("sglang", "SGLang", video_as="url", processor_kwargs_field=None, thinking=True,
                      extra_sampling={"top_k": "top_k", "repetition_penalty": "repetition_penalty"},
                      unsupported=_unsupported_processor_settings("SGLang's chat API")),
        ServerProfile("llama.cpp", "llama.cpp server", video_as="frames", processor_kwargs_field=None, thinking=True,
                      extra_sampling={"top_k": "top_k", "repetition_penalty": "repeat_penalty"},
                      unsupported={**_unsupported_processor_settings("llama.cpp's server", LOCALLY_SAMPLED),
                                   **_frames_only("llama.cpp's server")}),
        # transformers serve hands chat_template_kwargs to apply_chat_template, i.e. to the processor — but not
        # to generate, so 4x would give the prompt 4x placeholders for a 16x model. It maps
        # frequency_penalty to repetition_penalty = 1 + frequency_penalty, and refuses unknown fields (422).
        ServerProfile("transformers", "transformers serve", video_as="frames",
                      processor_kwargs_field="chat_template_kwargs", thinking=True,
                      extra_sampling={"repetition_penalty": "frequency_penalty"},
                      unsupported={
                          "downsample_mode": "transformers serve passes it to the processor but not to generate",
                          "top_k": "transformers serve has no top_k field",
                          **_frames_only("transformers serve")}),
        ServerProfile("openai", "OpenAI-compatible server", video_as="frames", processor_kwargs_field=None,
                      thinking=False,
                      unsupported={**_unsupported_processor_settings("a plain OpenAI-compatible API", LOCALLY_SAMPLED),
                                   **_frames_only("a plain OpenAI-compatible API"),
                                   "top_k": "not in the OpenAI API", "repetition_penalty": "not in the OpenAI API",
                                   "enable_thinking": "a plain OpenAI-compatible API has no chat_template_kwargs"}),
    )
}
SERVER_CHOICES = ("auto", *PROFILES)

_OWNERS = {"vllm": "vllm", "sglang": "sglang", "llamacpp": "llama.cpp", "llama.cpp": "llama.cpp"}


def detect_server(models_listing: dict[str, Any]) -> str:
    """The profile name for a ``GET /v1/models`` answer; "openai" when nothing there says more."""
    entries = [entry for entry in models_listing.get("data") or [] if isinstance(entry, dict)]
    for entry in entries:
        owner = str(entry.get("owned_by", "")).lower()
        if owner in _OWNERS:
            return _OWNERS[owner]
    # transformers serve lists each model with a load status object; the others list plain model cards.
    if entries and all(isinstance(entry.get("status"), dict) for entry in entries):
        return "transformers"
    return "openai"


class OnTheServer:
    """What a remote engine leaves to its model server: costs, limits, reproduction and prefix caching."""

    def reproduction(self, messages: list[dict[str, Any]], prepared) -> dict[str, str]:
        return {}  # the server's model, not a checkpoint a script could load here

    def gpu_seconds(self, prepared) -> int | None:
        return None  # the server's own GPU

    def memory(self, prepared) -> tuple[int | None, int | None]:
        return None, None  # the server's device

    def budget_problems(self, prepared, gpu_seconds: int | None, memory: tuple[int | None, int | None]) -> list[str]:
        return []  # only the server knows its limits, and says so when it refuses

    def forget(self, conversation: str | None) -> None:
        pass  # nothing is kept here: the server caches prefixes on its own
