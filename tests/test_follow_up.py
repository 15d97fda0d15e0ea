"""Follow-up questions reuse what their conversation kept (engine/follow_up.py, engine/reuse.py): the same greedy
reply as without, for every kind of conversation and after undo, regenerate and edit; within the budget; never
for another conversation; and through /chat when the history is passed back."""

from __future__ import annotations

import threading

import pytest
from gradio_client import Client, handle_file

from minicpm_demo.engine import LocalEngine, run_request
from minicpm_demo.engine.reuse import ReuseCache, nbytes
from minicpm_demo.loader import ModelSpec
from minicpm_demo.session import ChatSession
from minicpm_demo.settings import Settings

REPLY_TOKENS = 12


@pytest.fixture(scope="module")
def engines(tiny_checkpoint):
    """The same checkpoint twice in one process: one keeps nothing, the other keeps what it may."""
    plain = LocalEngine(ModelSpec(str(tiny_checkpoint), device="cpu"), reuse_cache_mb=0)
    reusing = LocalEngine(ModelSpec(str(tiny_checkpoint), device="cpu"), reuse_cache_mb=256)
    for engine in (plain, reusing):
        assert engine.wait_until_loaded(timeout=300).state == "ready"
    return plain, reusing


def ask(engine, messages, settings, conversation=None):
    answer, stats = "", None
    for delta in run_request(engine, messages, settings, threading.Event(), conversation):
        answer += delta.answer
        stats = delta.stats or stats
    return answer, stats


def question(text, *media):
    return {"role": "user", "content": [*({"type": kind, "path": str(path)} for kind, path in media),
                                        {"type": "text", "text": text}]}


def answered(messages, reply, text, *media):
    return [*messages, {"role": "assistant", "content": [{"type": "text", "text": reply}]}, question(text, *media)]


def greedy(modality, **values):
    return Settings.for_modality(modality, do_sample=False, max_new_tokens=REPLY_TOKENS, **values)


CONVERSATIONS = {
    "image": ("image", {}),
    "multi-image": ("multi-image", {}),
    "video": ("video", {"max_num_frames": 6}),
    "video, stack 3": ("video", {"max_num_frames": 6, "stack_frames": 3}),
}


@pytest.mark.parametrize("name", list(CONVERSATIONS))
def test_follow_ups_give_the_same_greedy_reply_and_do_not_encode_the_media_again(
        engines, name, red_image, three_images, short_video, request):
    plain, reusing = engines
    modality, values = CONVERSATIONS[name]
    settings = greedy(modality, **values)
    media = {"image": [("image", red_image)], "multi-image": [("image", path) for path in three_images[:2]],
             "video": [("video", short_video)]}[modality]
    kind = "video" if modality == "video" else "image"
    conversation = request.node.name
    messages = [question("Describe it.", *media)]
    for turn in range(3):
        if modality == "multi-image" and turn == 2:  # a new picture in a follow-up: only it is encoded
            messages[-1] = question("And this one?", ("image", three_images[2]))
        expected, _ = ask(plain, messages, settings)
        reply, stats = ask(reusing, messages, settings, conversation)
        assert reply == expected, f"turn {turn}: the reply changed with reuse"
        done, total = stats.reused[f"{kind}_units"]
        if turn == 0:
            assert stats.reused["prefix_tokens"] == 0 and done == 0
        else:
            assert stats.reused["prefix_tokens"] >= 64, stats.reused
            assert stats.reused["files"] >= 1, "the files were not decoded again"
            if modality == "multi-image" and turn == 2:
                assert 0 < done < total, "the earlier pictures are reused, the new one is encoded"
            else:
                assert done == total
                assert f"{kind} encoding reused" in stats.notes
            assert any(str(note).startswith("prefix ") for note in stats.notes)
        messages = answered(messages, reply, f"Tell me more, {turn}.")


def test_regenerate_undo_and_edit_give_the_same_reply_as_without_reuse(engines, red_image):
    plain, reusing = engines
    settings = greedy("image")
    first = [question("What is it?", ("image", red_image))]
    reply, _ = ask(reusing, first, settings, "edits")
    second = answered(first, reply, "What colour is it?")
    reply_2, _ = ask(reusing, second, settings, "edits")
    cases = {
        "regenerate": second,  # the same prompt again
        "undo, then another question": answered(first, reply, "Is it large?"),
        "edit the first question": [question("What shape is it?", ("image", red_image))],
        "a follow-up after the edit": answered([question("What shape is it?", ("image", red_image))], reply,
                                               "And its colour?"),
    }
    for case, messages in cases.items():
        expected, _ = ask(plain, messages, settings)
        got, stats = ask(reusing, messages, settings, "edits")
        assert got == expected, case
        assert stats.reused["image_units"][0] == stats.reused["image_units"][1], f"{case}: the picture is reused"
    assert reply_2


def test_a_setting_that_changes_the_pictures_misses_only_what_it_changes(engines, red_image):
    plain, reusing = engines
    messages = [question("What is it?", ("image", red_image))]
    ask(reusing, messages, greedy("image"), "settings")
    for mode in ("4x", "16x"):
        settings = greedy("image", downsample_mode=mode)
        expected, _ = ask(plain, messages, settings)
        got, stats = ask(reusing, messages, settings, "settings")
        assert got == expected
        done, total = stats.reused["image_units"]
        # 4x is a new encoding of every unit; back at 16x each unit is the one kept at first
        assert done == (0 if mode == "4x" else total), mode


def test_another_conversation_never_finds_what_one_kept(engines, red_image):
    _, reusing = engines
    messages = [question("What is it?", ("image", red_image))]
    ask(reusing, messages, greedy("image"), "alice")
    _, stats = ask(reusing, messages, greedy("image"), "bob")
    assert stats.reused["prefix_tokens"] == 0 and stats.reused["files"] == 0
    assert stats.reused["image_units"][0] == 0, "bob's question must not be faster for alice's upload"
    _, stats = ask(reusing, messages, greedy("image"))  # a request of no conversation (Compare, a preflight)
    assert stats.reused == {}


def test_the_cache_stays_within_its_budget_across_many_conversations(tiny_checkpoint, three_images):
    engine = LocalEngine(ModelSpec(str(tiny_checkpoint), device="cpu"), reuse_cache_mb=2)
    engine.wait_until_loaded(timeout=300)
    budget = engine.kept.budget_bytes
    for number in range(12):
        image = three_images[number % 3]
        _, stats = ask(engine, [question(f"Question {number}?", ("image", image))], greedy("image"), f"c{number}")
        assert engine.kept.used_bytes <= budget
    assert 0 < engine.kept.used_bytes
    assert len(engine.kept.owners()) < 12, "the oldest conversations were evicted"
    engine.forget("c11")
    assert "c11" not in engine.kept.owners()


def test_reuse_is_off_with_zero_and_with_compile(tiny_checkpoint, red_image):
    off = LocalEngine(ModelSpec(str(tiny_checkpoint), device="cpu"), reuse_cache_mb=0)
    off.wait_until_loaded(timeout=300)
    _, stats = ask(off, [question("What?", ("image", red_image))], greedy("image"), "any")
    assert stats.reused == {} and off.kept.used_bytes == 0
    compiled = LocalEngine(ModelSpec(str(tiny_checkpoint), device="cpu", compile_tokens=512))
    assert not compiled.kept.enabled  # the compiled step owns a static cache: nothing is kept for it


def test_lru_order_eviction_and_forget():
    cache = ReuseCache(100)
    assert cache.put("a", 1, "x", size=40) and cache.put("a", 2, "y", size=40)
    assert cache.get("a", 1) == "x"  # now the most recently used
    assert cache.put("b", 1, "z", size=40)  # evicts a/2, the least recently used
    assert cache.get("a", 2) is None and cache.get("a", 1) == "x" and cache.get("b", 1) == "z"
    assert cache.get("b", 2) is None and cache.get("a", 1) == "x"
    assert not cache.put("a", 3, "too big", size=101) and cache.used_bytes == 80
    cache.forget("a")
    assert cache.owners() == {"b"} and cache.used_bytes == 40
    assert ReuseCache(0).put("a", 1, "x", size=1) is False


def test_nbytes_counts_tensors_in_a_cache(engines, red_image):
    import torch
    from transformers import DynamicCache

    _, reusing = engines
    assert nbytes(torch.zeros(10, 10)) == 400
    cache = DynamicCache(config=reusing.ready_model().model.config.get_text_config())
    with torch.inference_mode():
        reusing.ready_model().model(input_ids=torch.tensor([[1, 2, 3, 4, 5]]), cache=cache, use_cache=True)
    assert nbytes(cache) > 0


def test_a_cleared_conversation_drops_what_it_kept(engines, red_image):
    _, reusing = engines
    session = ChatSession(forget=reusing.forget)
    key = session.reuse_key
    ask(reusing, [question("What is it?", ("image", red_image))], greedy("image"), key)
    assert key in reusing.kept.owners()
    session.end()  # Clear, another chat opened, or Gradio dropping the browser session's state
    assert key not in reusing.kept.owners() and session.reuse_key != key


def test_chat_follow_ups_with_the_history_passed_back_reuse_and_other_clients_do_not(app, red_image):
    def chat(client, text, files=(), history=None):
        job = client.submit(text, [handle_file(str(f)) for f in files], "image", history,
                            {"do_sample": False, "max_new_tokens": 4}, api_name="/chat")
        return list(job)[-1]

    client = Client(app["url"], analytics_enabled=False, verbose=False)
    first = chat(client, "Describe it.", [red_image])
    follow_up = chat(client, "And then?", history=first["history"])
    assert follow_up["stats"]["reused"]["prefix_tokens"] > 0
    assert follow_up["stats"]["reused"]["image_units"][0] == follow_up["stats"]["reused"]["image_units"][1]
    other = Client(app["url"], analytics_enabled=False, verbose=False)
    theirs = chat(other, "And then?", history=first["history"])  # the same server files, another session
    assert theirs["stats"]["reused"]["prefix_tokens"] == 0 and theirs["stats"]["reused"]["image_units"][0] == 0


@pytest.mark.parametrize("name", ["image", "video, stack 3"])
def test_the_next_token_scores_are_bit_for_bit_those_of_reading_the_prompt_whole(engines, name, red_image,
                                                                                 short_video):
    """Greedy replies agree only as long as no two scores are close; the scores themselves must agree exactly
    (in BF16; FP32 kernels differ in the last bits between a long and a short read, docs/PERFORMANCE.md)."""
    import torch

    plain, reusing = engines
    modality, values = CONVERSATIONS[name]
    settings = greedy(modality, **values)
    media = ("video", short_video) if modality == "video" else ("image", red_image)
    messages = [question("Describe it.", media)]
    model = plain.ready_model().model
    for turn in range(3):
        reply, _ = ask(reusing, messages, settings, f"scores {name}")
        messages = answered(messages, reply, f"Why, {turn}?")
        prepared = reusing.prepare(messages, settings, conversation=f"scores {name}")
        assert prepared.reuse.start > 0
        with torch.inference_mode():
            whole = model(**plain.prepare(messages, settings).inputs).logits[0, -1]
            given = prepared.reuse.run(model)
            read = given["cache"].get_seq_length()
            rest = model(inputs_embeds=given["inputs_embeds"][:, read:], attention_mask=given["attention_mask"],
                         cache=given["cache"]).logits[0, -1]
        if model.dtype == torch.float32:  # FP32 matrix kernels block a long and a short read differently
            assert torch.allclose(whole, rest, rtol=0, atol=1e-4) and whole.argmax() == rest.argmax(), \
                f"turn {turn}: {float((whole - rest).abs().max())}"
        else:
            assert torch.equal(whole, rest), f"turn {turn}: {float((whole - rest).abs().max())}"
