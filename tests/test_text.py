from __future__ import annotations

import pytest

from minicpm_demo.text import ReasoningSplitter, normalize_response_text


def test_literal_backslash_n_becomes_a_newline():
    assert normalize_response_text("line one\\nline two") == "line one\nline two"


def test_code_and_latex_are_protected():
    text = "Use `print('a\\nb')` and $\\nabla f$ and $$\\neq$$\\nnext\n```\nx = '\\n'\n```"
    assert normalize_response_text(text) == "Use `print('a\\nb')` and $\\nabla f$ and $$\\neq$$\nnext\n```\nx = '\\n'\n```"


def test_text_without_escapes_is_untouched():
    assert normalize_response_text("plain") == "plain"


def feed_all(splitter, pieces):
    reasoning, answer = "", ""
    for piece in pieces:
        r, a = splitter.feed(piece)
        reasoning, answer = reasoning + r, answer + a
    r, a = splitter.flush()
    return reasoning + r, answer + a


@pytest.mark.parametrize("pieces", [
    ["Let me think.", "</think>", "\n\nIt is red."],
    ["Let me think.</th", "ink>\n\nIt is red."],
    ["Let me think.<", "/", "think", ">", "\n\nIt is red."],
])
def test_reasoning_is_split_even_when_the_tag_is_cut(pieces):
    reasoning, answer = feed_all(ReasoningSplitter(thinking=True), pieces)
    assert reasoning == "Let me think."
    assert answer == "\n\nIt is red."


def test_answer_only_when_thinking_is_off_but_a_think_block_still_goes_to_reasoning():
    assert feed_all(ReasoningSplitter(thinking=False), ["Hello ", "world"]) == ("", "Hello world")
    assert feed_all(ReasoningSplitter(thinking=False), ["<think>x</think>", "y"]) == ("x", "y")


def test_unfinished_tag_prefix_is_released_at_the_end():
    assert feed_all(ReasoningSplitter(thinking=False), ["a <"]) == ("", "a <")
