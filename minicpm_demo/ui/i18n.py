"""Interface strings in English and Chinese; Gradio picks the browser's language in the page."""

from __future__ import annotations

import gradio as gr

EN = {
    "header": "# MiniCPM-V 4.6\nChat about one image, several images at once, or a video.",
    "tab_image": "Image",
    "tab_multi": "Multi-image",
    "tab_video": "Video",
    "input_image": "Ask about one image (attach it with the paperclip)",
    "input_multi": "Ask about several images at once (attach 2 or more, in order)",
    "input_video": "Ask about a video (attach it with the paperclip)",
    "placeholder": "Type a question, attach a file, press Enter",
    "send": "Send",
    "stop": "Stop",
    "regenerate": "Regenerate",
    "undo": "Undo",
    "clear": "Clear",
    "thinking": "Thinking mode",
    "thinking_info": "Reason step by step before answering (slower; the reasoning is shown collapsed).",
    "advanced": "Advanced settings",
    "examples": "Examples",
}

ZH = {
    "header": "# MiniCPM-V 4.6\n可以就单张图片、多张图片或一段视频进行对话。",
    "tab_image": "单图",
    "tab_multi": "多图",
    "tab_video": "视频",
    "input_image": "就一张图片提问（用回形针添加图片）",
    "input_multi": "同时就多张图片提问（按顺序添加 2 张或更多）",
    "input_video": "就一段视频提问（用回形针添加视频）",
    "placeholder": "输入问题，添加文件，按回车发送",
    "send": "发送",
    "stop": "停止",
    "regenerate": "重新生成",
    "undo": "撤销",
    "clear": "清空",
    "thinking": "思考模式",
    "thinking_info": "先逐步推理再回答（较慢；推理过程折叠显示）。",
    "advanced": "高级设置",
    "examples": "示例",
}

I18N = gr.I18n(en=EN, zh=ZH, **{"zh-CN": ZH, "zh-TW": ZH})


def t(key: str):
    """A translatable string for a component label."""
    return I18N(key)
