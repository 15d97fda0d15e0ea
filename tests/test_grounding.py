"""Boxes in a reply, in the forms MiniCPM-V models write them (written examples: the 4.6 format is not documented),
drawn on the picture and read in the text."""

from __future__ import annotations

from PIL import Image

from minicpm_demo.chat import Attachment, Conversation
from minicpm_demo.grounding import Box, find_boxes, readable


def test_labelled_boxes_in_each_written_form_are_found_in_order():
    text = ("There is <ref>a cat</ref><box>100 200 300 400</box> and <ref>two dogs</ref><box>(500,500),(600,700)"
            "</box><box>[700, 100, 900, 300]</box>, and something <box>10 10 20 20</box>.")
    assert find_boxes(text) == [Box("a cat", 100, 200, 300, 400), Box("two dogs", 500, 500, 600, 700),
                                Box("two dogs", 700, 100, 900, 300), Box("", 10, 10, 20, 20)]
    assert readable(text) == "There is **a cat** [1] and **two dogs** [2] [3], and something [4]."


def test_odd_boxes_are_clamped_ordered_or_left_as_text():
    assert find_boxes("<box>900 800 100 1200</box>") == [Box("", 100, 800, 900, 1000)]
    assert find_boxes("<box>1 2 3</box><box>5 5 5 9</box><box>no numbers</box>") == []
    assert readable("<box>1 2 3</box>") == "<box>1 2 3</box>"
    assert Box("", 0, 0, 500, 1000).on(640, 480) == (0, 0, 320, 480)


def test_a_reply_with_boxes_shows_the_picture_with_them_drawn(tmp_path):
    from minicpm_demo.ui.render import to_chatbot

    photo = tmp_path / "photo.png"
    Image.new("RGB", (400, 300), "white").save(photo)
    chat = Conversation().ask("Where is the cat?", (Attachment(str(photo), "image"),)).answer(
        "<ref>cat</ref><box>250 250 750 750</box>", stats={"prompt_tokens": 10, "generated_tokens": 5, "ttft_s": 0.1,
                                                            "tokens_per_s": 9.0})
    shown = to_chatbot(chat)
    assert shown[2]["content"].startswith("**cat** [1]")
    with Image.open(shown[3]["content"]["path"]) as drawn:
        assert drawn.size == (400, 300)
        assert drawn.getpixel((100, 150)) != (255, 255, 255), "the box's left edge is drawn"
        assert drawn.getpixel((200, 150)) == (255, 255, 255), "inside it, the picture"
    assert len(to_chatbot(chat.ask("And now?").answer("Nothing here."))) == 6, "a reply without boxes: text only"
