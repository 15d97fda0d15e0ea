from __future__ import annotations

import time

from minicpm_demo.chat import Conversation
from minicpm_demo.ui.render import LATEX_DELIMITERS, to_chatbot


def test_prices_stay_dollars_and_inline_math_is_shown_in_the_delimiters_the_chat_window_renders():
    conversation = Conversation().ask("What does $x^2$ cost?").answer(
        "The coffee costs $4.50 and the cake $3.20; $x^2$ is free.", reasoning="Add $4.50 and $3.20.")
    user, reasoning, answer = (message["content"] for message in to_chatbot(conversation))
    assert user == "What does \\(x^2\\) cost?"
    assert reasoning == "Add $4.50 and $3.20."
    assert answer == "The coffee costs $4.50 and the cake $3.20; \\(x^2\\) is free."
    assert {"left": "\\(", "right": "\\)", "display": False} in LATEX_DELIMITERS
    assert all(delimiter["left"] != "$" for delimiter in LATEX_DELIMITERS), "a single $ would pair two prices"


def test_a_reply_stopped_before_the_model_ran_shows_no_token_figures():
    from minicpm_demo.engine.pipeline import ReplyStats, stopped_before_the_model

    stopped = Conversation().ask("What happens?").answer("", stopped=True,
                                                        stats=stopped_before_the_model(time.perf_counter()).to_dict())
    assert to_chatbot(stopped)[-1]["content"] == "*⏹ stopped*\n\n<sub>before the model ran</sub>"
    answered = ReplyStats(prompt_tokens=80, visual_tokens=64, generated_tokens=5, ttft_s=0.5, tokens_per_s=12.0,
                          total_s=0.9, notes=("clip.mp4: 4 frames of 4 s",))
    reply = to_chatbot(Conversation().ask("What happens?").answer("A ball.", stats=answered.to_dict()))[-1]["content"]
    assert reply == ("A ball.\n\n<sub>visual tokens 64 · prompt tokens 80 · TTFT 0.50 s · 12.0 tokens/s · "
                     "clip.mp4: 4 frames of 4 s</sub>")
