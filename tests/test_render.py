from __future__ import annotations

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
