from __future__ import annotations

import pytest

from minicpm_demo.chat import Attachment, Conversation


def test_messages_follow_the_model_card_format():
    conversation = Conversation().ask("What is this?", (Attachment("/a.png", "image"), Attachment("/b.png", "image")))
    conversation = conversation.answer("Two cats.").ask("And the video?", (Attachment("/c.mp4", "video"),))
    assert conversation.to_messages() == [
        {"role": "user", "content": [{"type": "image", "path": "/a.png"}, {"type": "image", "path": "/b.png"},
                                     {"type": "text", "text": "What is this?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Two cats."}]},
        {"role": "user", "content": [{"type": "video", "path": "/c.mp4"}, {"type": "text", "text": "And the video?"}]},
    ]


def test_a_system_prompt_is_the_first_message_and_a_blank_one_is_none():
    asked = Conversation().ask("Hi")
    assert asked.to_messages("  Be brief.\n")[0] == {"role": "system", "content": "Be brief."}
    assert asked.to_messages(" \n") == asked.to_messages() == [
        {"role": "user", "content": [{"type": "text", "text": "Hi"}]}]


def test_undo_regenerate_clear_return_new_values():
    first = Conversation().ask("Q1").answer("A1")
    second = first.ask("Q2").answer("A2", stopped=True)
    undone, removed = second.undo()
    assert undone == first and removed.text == "Q2"
    again = second.for_regenerate()
    assert again.pending and again.turns[-1].text == "Q2" and again.turns[-1].reply is None
    assert second.turns[-1].reply == "A2", "the original is unchanged"
    assert Conversation().undo() == (Conversation(), None)


def test_cannot_ask_twice_without_a_reply():
    with pytest.raises(ValueError):
        Conversation().ask("Q1").ask("Q2")


def test_files_kinds_can_be_told_after_the_conversation_s_size_is_known():
    from minicpm_demo.chat import FILE, conversation_from_messages

    messages = [{"role": "user", "content": [{"type": "file", "file": {"path": "/a.png"}}, "What is it?"]},
                {"role": "assistant", "content": "A cat."},
                {"role": "user", "content": [{"path": "/a.png"}, {"type": "video", "path": "/b.mp4"}, "And now?"]},
                {"role": "assistant", "content": "A dog.", "metadata": 5}]
    conversation = conversation_from_messages(messages)
    assert [a.kind for a in conversation.attachments] == [FILE, FILE, "video"], "nothing opened yet"
    assert conversation.text_chars == len("What is it?A cat.And now?A dog.")
    asked = []
    known = conversation.with_kinds(lambda path: asked.append(path) or "image")
    assert [a.kind for a in known.attachments] == ["image", "image", "video"] and asked == ["/a.png"]
    assert conversation_from_messages(messages, kind_of=lambda path: "image").attachments == known.attachments
