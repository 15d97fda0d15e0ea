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


def _answered_chat(tmp_path, turns: int) -> Conversation:
    """``turns`` answered questions about a picture, each reply with a box and a filmstrip of what was seen."""
    from PIL import Image

    from minicpm_demo.chat import Attachment
    from minicpm_demo.engine.pipeline import ReplyStats

    conversation = Conversation()
    for number in range(turns):
        picture = tmp_path / f"picture{number}.png"
        Image.new("RGB", (64, 48), "white").save(picture)
        seen = tmp_path / f"seen{number}.jpg"
        Image.new("RGB", (32, 24), "grey").save(seen)
        stats = ReplyStats(prompt_tokens=80, visual_tokens=64, generated_tokens=5, ttft_s=0.5, tokens_per_s=12.0,
                           total_s=0.9, notes=()).to_dict() | {"seen": [{"t": None, "path": str(seen)}]}
        conversation = conversation.ask(f"Where is cat {number}?", (Attachment(str(picture), "image"),)).answer(
            f"Cat {number} is at <ref>cat</ref><box>100 100 500 500</box>.", stats=stats)
    return conversation


def _rendered_anew(conversation: Conversation, streaming: bool = False, lang: str = "en"):
    from minicpm_demo.ui import render

    render._rendered.clear()
    return to_chatbot(conversation, streaming, lang)


def test_a_streamed_update_renders_only_the_reply_being_streamed(tmp_path, monkeypatch):
    from minicpm_demo.ui import render

    chat = _answered_chat(tmp_path, 3)
    first = _rendered_anew(chat)
    drawn = [m["content"]["path"] for m in first if m["role"] == "assistant" and isinstance(m["content"], dict)]
    assert len(drawn) == 3 and all(path.startswith(render.drawn_boxes.FOLDER) for path in drawn)
    replies = [m["content"] for m in first if m["role"] == "assistant" and isinstance(m["content"], str)]
    assert len(replies) == 3 and all("<img src=" in reply for reply in replies), "each reply has its filmstrip"
    calls = {"find_boxes": 0, "filmstrip": 0}

    def counted(name, function):
        def call(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        return call

    monkeypatch.setattr(render, "find_boxes", counted("find_boxes", render.find_boxes))
    monkeypatch.setattr(render, "_filmstrip", counted("filmstrip", render._filmstrip))
    asked = chat.ask("And the dog?")
    shown = [to_chatbot(asked.answer("The dog" + " runs" * words), streaming=True) for words in range(5)]
    assert calls == {"find_boxes": 0, "filmstrip": 0}, "the finished replies were rendered again"
    assert all(update[:len(first)] == first for update in shown)
    assert shown[-1][-1]["content"] == "The dog runs runs runs runs"
    done = asked.answer("The dog sleeps.", stats=chat.turns[0].stats)
    kept = to_chatbot(done)
    assert calls == {"find_boxes": 1, "filmstrip": 1}, "only the reply that just finished is rendered"
    assert kept == _rendered_anew(done), "a kept rendering differs from a fresh one"


def test_undo_edit_regenerate_and_the_language_show_the_right_replies(tmp_path):
    chat = _answered_chat(tmp_path, 3)
    to_chatbot(chat)  # the replies are kept as rendered
    undone, _ = chat.undo()
    assert to_chatbot(undone) == _rendered_anew(undone)
    assert "Cat 2" not in str(to_chatbot(undone)) and "Cat 1" in str(to_chatbot(undone))
    edited = chat.edited(1, "Where is the dog?")
    texts = [m["content"] for m in to_chatbot(edited) if isinstance(m["content"], str)]
    assert texts[-1] == "Where is the dog?" and not any("Cat 1" in text or "Cat 2" in text for text in texts)
    regenerated = chat.for_regenerate().answer("No cat here.")
    assert to_chatbot(regenerated)[-1]["content"] == "No cat here."
    assert "视觉 token 64" in to_chatbot(chat, lang="zh")[2]["content"]
    assert "visual tokens 64" in to_chatbot(chat)[2]["content"]


def test_a_filmstrip_whose_pictures_were_swept_is_left_out_of_a_kept_reply(tmp_path):
    from types import SimpleNamespace

    from PIL import Image

    from minicpm_demo.engine.pipeline import ReplyStats
    from minicpm_demo.seen import SeenPictures

    pictures = SeenPictures(root=str(tmp_path / "seen"), most=2)
    first, other = SimpleNamespace(seen_folder=None), SimpleNamespace(seen_folder=None)
    frames = ((0.0, Image.new("RGB", (32, 24))), (1.0, Image.new("RGB", (32, 24))))
    stats = ReplyStats(prompt_tokens=80, visual_tokens=64, generated_tokens=5, ttft_s=0.5, tokens_per_s=12.0,
                       total_s=0.9, notes=()).to_dict() | {"seen": pictures.keep(first, frames)}
    chat = Conversation().ask("What happens?").answer("A ball.", stats=stats)
    assert "0.0 s" in to_chatbot(chat)[-1]["content"]
    pictures.keep(other, frames)  # over the bound: the first conversation's pictures go
    assert "0.0 s" not in to_chatbot(chat)[-1]["content"]
