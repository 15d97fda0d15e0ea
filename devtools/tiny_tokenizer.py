"""The tiny checkpoint's tokenizer and chat template.

A byte-level BPE trained here on a small built-in corpus, with the real tokenizer's added tokens appended in
their real order (``REFERENCE_ADDED_TOKENS``, copied from openbmb/MiniCPM-V-4.6's tokenizer), and a chat
template with the structure of the real one. ``devtools.tiny`` and ``devtools.shape_twin`` both use it.
"""

from __future__ import annotations

# The added tokens of the real tokenizer, in id order (ids 248044…248093 there). The tiny tokenizer
# appends them after its own small BPE vocabulary, so their order and roles match the real one.
REFERENCE_ADDED_TOKENS: list[tuple[str, bool]] = [
    ("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True),
    ("<|object_ref_start|>", True), ("<|object_ref_end|>", True), ("<|box_start|>", True),
    ("<|box_end|>", True), ("<|quad_start|>", True), ("<|quad_end|>", True),
    ("<|vision_start|>", True), ("<|vision_end|>", True), ("<|vision_pad|>", True),
    ("<|image_pad|>", True), ("<|video_pad|>", True), ("<tool_call>", False), ("</tool_call>", False),
    ("<|fim_prefix|>", False), ("<|fim_middle|>", False), ("<|fim_suffix|>", False), ("<|fim_pad|>", False),
    ("<|repo_name|>", False), ("<|file_sep|>", False), ("<tool_response>", False), ("</tool_response>", False),
    ("<think>", False), ("</think>", False), ("<|audio_start|>", True), ("<|audio_end|>", True),
    ("<tts_pad>", True), ("<tts_text_bos>", True), ("<tts_text_eod>", True), ("<tts_text_bos_single>", True),
    ("<|audio_pad|>", True), ("<unk>", True), ("<image>", True), ("</image>", True), ("<ref>", True),
    ("</ref>", True), ("<box>", True), ("</box>", True), ("<quad>", True), ("</quad>", True),
    ("<point>", True), ("</point>", True), ("<slice>", True), ("</slice>", True), ("<image_id>", True),
    ("</image_id>", True), ("<timestamp>", True), ("</timestamp>", True),
]

# What the processor reads off the tokenizer (transformers 5 "model-specific special tokens").
PROCESSOR_TOKENS = {
    "image_token": "<|image_pad|>",
    "video_token": "<|video_pad|>",
    "image_start_token": "<image>",
    "image_end_token": "</image>",
    "slice_start_token": "<slice>",
    "slice_end_token": "</slice>",
    "image_id_start_token": "<image_id>",
    "image_id_end_token": "</image_id>",
}

# Qwen-style pre-tokenisation regex (contractions, letters, digits one by one, punctuation, spaces).
PRETOKENIZE_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Same structure as the real template: Qwen-style turns, content lists with image / video / text items,
# reasoning of earlier assistant turns dropped, and an empty think block when thinking is off.
CHAT_TEMPLATE = """\
{%- for message in messages -%}
<|im_start|>{{ message['role'] }}
{% if message['content'] is string -%}
{%- set text = message['content'] -%}
{%- else -%}
{%- set text = namespace(value='') -%}
{%- for item in message['content'] -%}
{%- if item['type'] == 'image' -%}
{%- set text.value = text.value ~ '<|image_pad|>\\n' -%}
{%- elif item['type'] == 'video' -%}
{%- set text.value = text.value ~ '<|video_pad|>\\n' -%}
{%- elif item['type'] == 'text' -%}
{%- set text.value = text.value ~ item['text'] -%}
{%- endif -%}
{%- endfor -%}
{%- set text = text.value -%}
{%- endif -%}
{%- if message['role'] == 'assistant' and '</think>' in text -%}
{%- set text = text.split('</think>')[-1].lstrip('\\n') -%}
{%- endif -%}
{{ text }}<|im_end|>
{% endfor -%}
{%- if add_generation_prompt -%}
<|im_start|>assistant
{% if enable_thinking is defined and enable_thinking -%}
<think>
{% else -%}
<think>

</think>

{% endif -%}
{%- endif -%}"""

# Trains the small BPE vocabulary; `devtools.tiny --gptq` also calibrates on it.
CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "What is in this image? Describe the picture in detail, please.",
    "The video shows a person walking along a beach at sunset while waves roll in.",
    "A red car is parked next to a green tree; the sky is blue and there are white clouds.",
    "Read the text in the screenshot and summarise it in three short sentences.",
    "How many people are in the photo, and what are they doing?",
    "Compare the two images: which one is brighter, and why do you think so?",
    "Thinking step by step: first look at the colours, then the shapes, then the text.",
    "这是一张照片。图片里有一只猫和一只狗。请描述这个视频的内容。",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 2026; symbols: ( ) [ ] { } < > / \\ | - + = * & % $ # @ ! ?",
    "def main():\n    print('hello world')\n    return 0\n",
    "$$E = mc^2$$ and \\frac{a}{b} are written in LaTeX.",
]


def build_tokenizer(vocab_size: int = 512):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    backend.normalizer = normalizers.NFC()
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(CORPUS * 4, trainer=trainer)
    backend.add_tokens([
        AddedToken(content, special=special, normalized=False) for content, special in REFERENCE_ADDED_TOKENS
    ])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        bos_token=None,
        extra_special_tokens=PROCESSOR_TOKENS,
        model_max_length=262144,
        clean_up_tokenization_spaces=False,
        padding_side="left",
    )
    return tokenizer


def reference_token_ids(tokenizer) -> dict[str, int]:
    """The tokenizer's id of each ``REFERENCE_ADDED_TOKENS`` string."""
    return {content: tokenizer.convert_tokens_to_ids(content) for content, _ in REFERENCE_ADDED_TOKENS}
