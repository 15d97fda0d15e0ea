"""Interface strings in English and Chinese; Gradio picks the browser's language in the page."""

from __future__ import annotations

from dataclasses import fields

import gradio as gr

from minicpm_demo.settings import Settings

EN = {
    "header": "# MiniCPM-V 4.6\nChat about one image, several images at once, or a video.",
    "tab_image": "Image",
    "tab_multi": "Multi-image",
    "tab_video": "Video",
    "input_image": "Ask about one image or PDF (attach it with the paperclip)",
    "input_multi": "Ask about several images at once (attach 2 or more in order, or a PDF)",
    "input_video": "Ask about a video (attach it with the paperclip)",
    "placeholder": "Type a question, attach a file, press Enter",
    "send": "Send",
    "stop": "Stop",
    "regenerate": "Regenerate",
    "undo": "Undo",
    "clear": "Clear",
    "advanced": "Advanced settings",
    "examples": "Examples",
    "answering": "Answering…",
    "preparing": "Preparing the question…",
    "waiting_model": "Waiting for the model to load — {step}",
    "status.ready": "Ready",
    "status.signed_in": "Signed in as {user}",
    "status.loading": "Loading the model",
    "status.step": "step {step} of {steps}",
    "status.error": "The model is not available",
    "status.on": "on the {device}",
    "status.warning": "Warning",
    "notice": "Note",
    "fit_it": "Fit it",
    "tab_compare": "Compare",
    "compare.intro": "One question and its media, answered under two settings side by side (greedy). On one device "
                     "the two runs take turns: B starts when A has ended.",
    "compare.input": "Ask about an image, several images or a video",
    "compare.a": "A",
    "compare.b": "B",
    "compare.settings": "Settings",
    "compare.model": "Checkpoint",
    "compare.run": "Compare",
    "compare.waiting": "A is answering; B starts when it has ended.",
    "compare.verdict": "B against A: visual tokens {visual}, prompt tokens {prompt}, time to first token {ttft}, "
                       "tokens/s {speed}.",
    "seen.frames": "👁 What the model saw: {n} frames",
    "seen.frame": "👁 What the model saw: 1 frame",
    "seen.images": "👁 What the model saw: {n} images, cut into slices along the lines",
    "seen.image": "👁 What the model saw: the image, cut into slices along the lines",
    "python": "🐍 This reply as Python (transformers)",
    "python.gradio_client": "The same question to this server, with gradio_client:",
    "python.curl": "The same request to a vLLM server:",
    "budget.tokens": "Before sending: {visual} visual tokens, {prompt} prompt tokens",
    "budget.frames": "{n} frames, one every {gap} s",
    "budget.slices": "slices {slices}",
    "budget.ttft": "first token in about {s} s ({source})",
    "budget.source.measured": "as measured here",
    "budget.source.shape twin": "estimated from the full model's figures",
    "budget.source.unknown": "not known",
    "budget.gpu": "{s} s of GPU time",
    "budget.memory": "memory about {total}",
    "capture.photo": "📷 Camera",
    "capture.video": "🎥 Camera and screen",
    "capture.camera_photo": "Take a photo: it is attached to your question",
    "capture.camera_clip": "Record a clip: it is attached to your question when you stop",
    "capture.screen": "🖥 Record the screen",
    "capture.stop": "⏹ Stop recording",
    "capture.paste": "You can also paste an image into the question box (Ctrl+V / ⌘V).",
    "budget.memory_free": "memory about {total} ({free} free)",
    "failed": "Something went wrong while answering ({error}). Your conversation is kept; try again.",
    "common.complete": "Done",  # Gradio's status announcement for screen readers, which its locales lack
    "busy": "Wait for the current reply to finish, or press Stop.",
    "empty": "Type a question or attach a file first.",
    "one_image": "Only one image attached: the Multi-image tab is for comparing 2 or more.",
    "nothing_to_regenerate": "Nothing to regenerate yet: ask a question first.",
    "chats": "Chats",
    "delete_chat": "Delete",
    "export": "Export",
    "import": "Import",
    "exported": "This chat, to download (Markdown with its files, and JSON to import again)",
    "import_failed": "This file cannot be read as a chat: import a .json or .zip that the Export button gave.",
    "nothing_to_export": "Nothing to export yet: ask a question first.",
    "not_exported": "not included (gone from the server, or too large for one export)",
    "gone": "gone from the server (uploads are kept for a day); attach it again to ask about it",
    "stopped": "⏹ stopped",
    "reasoning": "💭 Reasoning",
    "stats.visual": "visual tokens {n}",
    "stats.prompt": "prompt tokens {n}",
    "stats.ttft": "TTFT {s} s",
    "stats.speed": "{speed} tokens/s",
    "stats.before_model": "before the model ran",
}

ZH = {
    "header": "# MiniCPM-V 4.6\n可以就单张图片、多张图片或一段视频进行对话。",
    "tab_image": "单图",
    "tab_multi": "多图",
    "tab_video": "视频",
    "input_image": "就一张图片或一个 PDF 提问（用回形针添加）",
    "input_multi": "同时就多张图片提问（按顺序添加 2 张或更多，或一个 PDF）",
    "input_video": "就一段视频提问（用回形针添加视频）",
    "placeholder": "输入问题，添加文件，按回车发送",
    "send": "发送",
    "stop": "停止",
    "regenerate": "重新生成",
    "undo": "撤销",
    "clear": "清空",
    "advanced": "高级设置",
    "examples": "示例",
    "answering": "正在回答…",
    "preparing": "正在准备问题…",
    "waiting_model": "正在等待模型加载——{step}",
    "status.ready": "就绪",
    "status.signed_in": "已登录：{user}",
    "status.loading": "正在加载模型",
    "status.step": "第 {step} 步，共 {steps} 步",
    "status.error": "模型不可用",
    "status.on": "运行于 {device}",
    "status.warning": "警告",
    "notice": "提示",
    "fit_it": "自动调整",
    "tab_compare": "对比",
    "compare.intro": "同一个问题和媒体，在两组设置下并排回答（贪心解码）。"
                     "只有一个设备时两次运行轮流进行：A 结束后 B 才开始。",
    "compare.input": "就一张图片、多张图片或一段视频提问",
    "compare.a": "A",
    "compare.b": "B",
    "compare.settings": "设置",
    "compare.model": "模型检查点",
    "compare.run": "对比",
    "compare.waiting": "A 正在回答；A 结束后 B 开始。",
    "compare.verdict": "B 相对 A：视觉 token {visual}，提示 token {prompt}，首 token 延迟 {ttft}，token/秒 {speed}。",
    "seen.frames": "👁 模型看到的内容：{n} 帧",
    "seen.frame": "👁 模型看到的内容：1 帧",
    "seen.images": "👁 模型看到的内容：{n} 张图片，沿线切片",
    "seen.image": "👁 模型看到的内容：图片，沿线切片",
    "python": "🐍 用 Python（transformers）重现这个回答",
    "python.gradio_client": "用 gradio_client 向本服务器发送同一个问题：",
    "python.curl": "向 vLLM 服务器发送同一个请求：",
    "budget.tokens": "发送前估算：视觉 token {visual}，提示 token {prompt}",
    "budget.frames": "{n} 帧，每 {gap} 秒一帧",
    "budget.slices": "切片 {slices}",
    "budget.ttft": "约 {s} 秒出首 token（{source}）",
    "budget.source.measured": "本机实测",
    "budget.source.shape twin": "按完整模型的基准估算",
    "budget.source.unknown": "未知",
    "budget.gpu": "GPU 时间 {s} 秒",
    "budget.memory": "内存约 {total}",
    "capture.photo": "📷 摄像头",
    "capture.video": "🎥 摄像头与屏幕录制",
    "capture.camera_photo": "拍一张照片：它会附加到你的问题",
    "capture.camera_clip": "录一段视频：停止后会附加到你的问题",
    "capture.screen": "🖥 录制屏幕",
    "capture.stop": "⏹ 停止录制",
    "capture.paste": "也可以把图片粘贴到提问框中（Ctrl+V / ⌘V）。",
    "budget.memory_free": "内存约 {total}（可用 {free}）",
    "failed": "回答时出错（{error}）。对话已保留，请重试。",
    "common.complete": "完成",
    "busy": "请等待当前回答完成，或点击“停止”。",
    "empty": "请先输入问题或添加文件。",
    "one_image": "只添加了一张图片：“多图”标签页用于比较 2 张或更多图片。",
    "nothing_to_regenerate": "还没有可以重新生成的回答：请先提问。",
    "chats": "对话记录",
    "delete_chat": "删除",
    "export": "导出",
    "import": "导入",
    "exported": "本次对话，可下载（含文件的 Markdown，以及可再次导入的 JSON）",
    "import_failed": "无法将此文件读取为对话：请导入“导出”按钮生成的 .json 或 .zip 文件。",
    "nothing_to_export": "还没有可以导出的内容：请先提问。",
    "not_exported": "未包含（服务器上已不存在，或超出单次导出的大小）",
    "gone": "服务器上已不存在（上传的文件保留一天）；如需提问请重新添加",
    "stopped": "⏹ 已停止",
    "reasoning": "💭 推理过程",
    "stats.visual": "视觉 token {n}",
    "stats.prompt": "提示 token {n}",
    "stats.ttft": "首 token 延迟 {s} 秒",
    "stats.speed": "{speed} token/秒",
    "stats.before_model": "模型尚未开始运行",
}

# Settings controls: English comes from each field's own label and info; Chinese is written here.
SETTING_ZH = {
    "system_prompt": ("系统提示", "在对话之前发送的指令，作为聊天模板的系统消息（留空：不发送）。"),
    "downsample_mode": ("视觉 token 压缩", "16x：视觉 token 最少、最快。4x：细节更清晰（小字、图表），视觉 token 为 4 倍。"),
    "max_slice_nums": ("最大图片切片数", "高分辨率图片最多切成这么多片：越多细节越多，token 也越多。"),
    "max_num_frames": ("最大视频帧数", "最多采样这么多帧（约每秒一帧）：越多覆盖越全，但更慢。"),
    "stack_frames": ("每秒叠加帧数", "1 = 每秒一帧。3 或 5 会把亚秒帧拼成一张图：动作更清楚，token 更多。"),
    "use_image_id": ("给图片编号", "在每张图片前加 <image_id> 标记，方便模型指代第 1、2…张图。"),
    "max_new_tokens": ("最大生成 token 数", "回答的最大长度（token）。思考模式需要更多。"),
    "do_sample": ("采样", "开：回答更多样（温度、top-p、top-k 生效）。关：贪心解码，可复现。"),
    "temperature": ("温度", "越高越多样，越低越集中。仅在采样时使用。"),
    "top_p": ("Top-p", "只从累计概率达到该值的最可能 token 中采样。"),
    "top_k": ("Top-k", "只从最可能的这么多个 token 中采样（0 = 不限制）。"),
    "repetition_penalty": ("重复惩罚", "大于 1 时减少重复同样的词。"),
    "enable_thinking": ("思考模式", "先逐步推理再回答（较慢；推理过程折叠显示）。"),
}
for _field in fields(Settings):
    EN[f"setting.{_field.name}.label"] = _field.metadata["label"]
    EN[f"setting.{_field.name}.info"] = _field.metadata["info"]
    ZH[f"setting.{_field.name}.label"], ZH[f"setting.{_field.name}.info"] = SETTING_ZH[_field.name]

I18N = gr.I18n(en=EN, zh=ZH, **{"zh-CN": ZH, "zh-TW": ZH})


def t(key: str):
    """A translatable string for a component label."""
    return I18N(key)


def t_made(key: str, en: str, zh: str):
    """A translatable string made while the page is built (its text depends on the engine); the page's
    translations are sent at launch, so ``key`` holds one text per process."""
    EN[key], ZH[key] = en, zh
    return I18N(key)


def language(request: gr.Request | None) -> str:
    """"zh" for a browser that asks for Chinese first, else "en": for text made on the server (toasts, the status
    line), where Gradio's own choice of language, made in the browser, does not reach."""
    headers = getattr(request, "headers", None) or {}
    first = headers.get("accept-language", "").split(",")[0].split(";")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"


def say(key: str, lang: str, **values) -> str:
    """The string ``key`` in ``lang``, with ``values`` filled in."""
    return (ZH if lang == "zh" else EN)[key].format(**values)
