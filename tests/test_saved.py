"""Chats kept in the browser come back as they were, and a record that was tampered with cannot reach the server's
files or hold anything but a conversation."""

from __future__ import annotations

import json

import pytest

from minicpm_demo.chat import GONE, Attachment, Conversation
from minicpm_demo.saved import RecordError, from_record, title_of, to_record


def served_only(allowed):
    return lambda path: path if path in allowed else None


def test_a_chat_comes_back_as_it_was_and_a_swept_file_is_said_to_be_gone(tmp_path):
    photo, clip = str(tmp_path / "photo.png"), str(tmp_path / "clip.mp4")
    stats = {"prompt_tokens": 80, "visual_tokens": 64, "generated_tokens": 5, "ttft_s": 0.5, "tokens_per_s": 12.0,
             "total_s": 0.9, "notes": ["clip.mp4: 4 frames of 4 s"], "stopped": False}
    chat = (Conversation().ask("What is it?", (Attachment(photo, "image"),)).answer("A cat.", stats=stats)
            .ask("And here?", (Attachment(clip, "video"),)).answer("It runs.", reasoning="Look.", stopped=True))
    record = json.loads(json.dumps(to_record(chat)))  # as the browser keeps it
    back = from_record(record, served_only({photo, clip}))
    assert [(t.text, t.attachments, t.reply, t.reasoning, t.stopped) for t in back.turns] == [
        (t.text, t.attachments, t.reply, t.reasoning, t.stopped) for t in chat.turns]
    assert back.turns[0].stats == {k: v for k, v in stats.items() if k != "stopped"}, "the figures the chat shows"
    swept = from_record(record, served_only({photo}))
    assert swept.turns[1].attachments == (Attachment("clip.mp4", GONE),)
    assert swept.to_messages()[2]["content"] == [{"type": "text", "text": "And here?"}], "the model is not given it"
    assert title_of(record) == "What is it?"
    assert to_record(chat.ask("Pending?"))["turns"] == record["turns"], "a reply still coming is not kept"


def test_a_note_comes_back_in_the_pages_language_and_a_forged_one_as_nothing():
    from minicpm_demo.media.limits import describe_duration
    from minicpm_demo.phrases import Phrase

    note = Phrase("note.frames", name="clip.mp4", frames=4, duration=describe_duration(4))
    stats = {"prompt_tokens": 80, "generated_tokens": 5, "notes": [note, "plain text"]}
    record = json.loads(json.dumps(to_record(Conversation().ask("What?").answer("This.", stats=stats))))
    record["turns"][0]["stats"]["notes"] += [{"key": "note.frames"}, {"key": "nope", "values": {}},
                                             {"key": "note.frames", "values": {"name": [1]}},
                                             {"key": "note.frames", "values": {"name": "x", "frames": "many"}}]
    notes = from_record(record, served_only(set())).turns[0].stats["notes"]
    assert notes == ["clip.mp4: 4 frames of 4 s", "plain text"]
    assert notes[0].said_in("zh") == "clip.mp4：4 秒视频中取 4 帧"


def test_a_pdf_question_comes_back_with_its_file_and_its_page_note_in_the_page_s_language(tmp_path):
    from media_corpus import pdf_of_pages

    from minicpm_demo import media

    pdf = str(pdf_of_pages(tmp_path, 12, name="long.pdf"))
    stats = {"prompt_tokens": 800, "generated_tokens": 5, "notes": media.render_pdf(pdf).notes}
    chat = Conversation().ask("Summarise it.", (Attachment(pdf, "image"),)).answer("A report.", stats=stats)
    back = from_record(json.loads(json.dumps(to_record(chat))), served_only({pdf}))
    assert back.turns[0].attachments == (Attachment(pdf, "image"),)
    assert back.turns[0].stats["notes"] == ["long.pdf: pages 1–8 of 12, the page limit is 8"]
    assert back.turns[0].stats["notes"][0].said_in("zh") == "long.pdf：第 1–8 页，共 12 页，页数上限为 8"


@pytest.mark.parametrize("record, message", [
    (None, "not a chat saved by this demo"),
    ({"format": "other", "turns": []}, "not a chat saved by this demo"),
    ({"format": "minicpm-demo-chat/1", "turns": [5]}, "Turn 1 of this chat is not a turn"),
    ({"format": "minicpm-demo-chat/1", "turns": [{"text": 5}]}, "has a text that is not text"),
    ({"format": "minicpm-demo-chat/1", "turns": [{"text": "Hi", "files": [{"path": 1, "kind": "image"}]}]},
     "names a file in a malformed way"),
    ({"format": "minicpm-demo-chat/1", "turns": [{"text": "x" * 200_001}]}, "not text of up to 200,000 characters"),
    ({"format": "minicpm-demo-chat/1", "turns": [{"text": "x"}] * 201}, "too large to open here"),
])
def test_a_malformed_record_is_refused_with_a_message(record, message):
    with pytest.raises(RecordError, match=message):
        from_record(record, served_only(set()))


def test_a_tampered_record_cannot_name_a_server_file_or_smuggle_values():
    record = {"format": "minicpm-demo-chat/1", "turns": [
        {"text": "Hi", "files": [{"path": "/etc/passwd", "kind": "image"}], "reply": "Hello",
         "stats": {"prompt_tokens": 1, "generated_tokens": float("inf"), "evil": "x"}, "stopped": "yes"}]}
    (turn,) = from_record(record, served_only(set())).turns
    assert turn.attachments == (Attachment("passwd", GONE),), "only files the server received are used"
    assert turn.stats is None and turn.stopped is False


def test_a_page_load_that_comes_late_keeps_the_chat_begun_meanwhile():
    import gradio as gr

    from minicpm_demo.session import ChatSession
    from minicpm_demo.ui.history import restore, save

    earlier = ChatSession(Conversation().ask("An old chat?").answer("Yes."))
    store, _ = save(earlier, None)
    begun = ChatSession(Conversation().ask("Talk."))  # sent before the load event was answered: still pending
    switch = begun.stop_event
    session, shown, kept, _ = restore(begun, store)
    assert session.conversation.turns[0].text == "Talk." and shown == gr.skip()
    assert not begun.superseded(switch) and not switch.is_set(), "its reply runs on"
    assert kept["current"] is None and len(kept["chats"]) == 1, "saved later as a chat of its own"
    fresh, shown, _, _ = restore(ChatSession(), store)
    assert [turn.text for turn in fresh.conversation.turns] == ["An old chat?"]
    assert shown[0]["content"] == "An old chat?"
