from __future__ import annotations

import time

from minicpm_demo.chat import Conversation
from minicpm_demo.ui.render import LATEX_DELIMITERS, to_chatbot


def test_prices_stay_dollars_and_inline_math_is_shown_in_the_delimiters_the_chat_window_renders():
    conversation = Conversation().ask("What does $x^2$ cost?").answer(
        "The coffee costs $4.50 and the cake $3.20; $x^2$ is free.", reasoning="Add $4.50 and $3.20.")
    user, answer = (message["content"] for message in to_chatbot(conversation))
    assert user == "What does \\(x^2\\) cost?"
    assert answer == ('<details class="reasoning"><summary>💭 Reasoning</summary>\n\nAdd $4.50 and $3.20.\n\n'
                      "</details>\n\nThe coffee costs $4.50 and the cake $3.20; \\(x^2\\) is free.")
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


def test_a_speed_needs_two_tokens_and_a_waiting_reply_shows_one_placeholder():
    from minicpm_demo.engine.pipeline import ReplyStats

    one = ReplyStats(prompt_tokens=80, visual_tokens=64, generated_tokens=1, ttft_s=0.5, tokens_per_s=0.0,
                     total_s=0.5, notes=())
    reply = to_chatbot(Conversation().ask("Hi").answer("A", stopped=True, stats=one.to_dict()))[-1]["content"]
    assert "TTFT 0.50 s · – tokens/s" in reply and "0.0 tokens/s" not in reply
    waiting = to_chatbot(Conversation().ask("Hi"), streaming=True)
    assert [m["role"] for m in waiting] == ["user", "assistant"]
    assert waiting[-1]["content"] == "" and waiting[-1]["metadata"] == {"title": "Preparing the question…",
                                                                      "status": "pending"}
    assert to_chatbot(Conversation().ask("Hi")) == waiting[:1], "nothing for the reply until it is asked for"


def test_the_chat_s_own_words_follow_the_page_s_language():
    from minicpm_demo.engine.pipeline import ReplyStats, stopped_before_the_model

    stats = ReplyStats(prompt_tokens=80, visual_tokens=64, generated_tokens=5, ttft_s=0.5, tokens_per_s=12.0,
                       total_s=0.9, notes=()).to_dict()
    chat = Conversation().ask("你好").answer("好的", reasoning="想一想", stopped=True, stats=stats)
    [answer] = to_chatbot(chat, lang="zh")[1:]
    assert answer["content"] == ('<details class="reasoning"><summary>💭 推理过程</summary>\n\n想一想\n\n</details>\n\n'
                                 "好的\n\n*⏹ 已停止*\n\n<sub>视觉 token 64 · 提示 token 80 · 首 token 延迟 0.50 秒 · "
                                 "12.0 token/秒</sub>")
    thinking = to_chatbot(Conversation().ask("你好").answer("", reasoning="想"), streaming=True, lang="zh")[-1]
    assert thinking["metadata"] == {"title": "💭 推理过程", "status": "pending"} and thinking["content"] == "想"
    early = Conversation().ask("你好").answer("", stopped=True,
                                             stats=stopped_before_the_model(time.perf_counter()).to_dict())
    assert "模型尚未开始运行" in to_chatbot(early, lang="zh")[-1]["content"]
    assert to_chatbot(Conversation().ask("你好"), True, "zh")[-1]["metadata"]["title"] == "正在准备问题…"
