"""The page as a zh-CN browser shows it: every string of ours in Chinese, in the controls, the status line, the
examples, the stats under a reply and the messages of a refused request (the app fixture's tiny model)."""

from __future__ import annotations

import re

from helpers import ARTIFACTS, open_page, require_chromium

require_chromium()
from playwright.sync_api import expect  # noqa: E402

# Latin words that are names, not English: the model, units, the settings' own identifiers and figures
# names, and units, which stay Latin in Chinese too
NAMES = {"MiniCPM", "GPTQ", "BF16", "FP16", "FP32", "CPU", "GPU", "token", "Top", "JPEG", "PNG", "MP4", "WebM", "MOV",
         "H264", "PDF", "MB", "GB"}
# Code and file names stay as they are: flags, snake_case settings, file names, the model's folder
CODE = re.compile(r"--[\w-]+|\b\w+_\w+\b|[\w.-]+\.(?:png|jpe?g|mp4|gif|webp|json|zip|md|pdf)\b|tiny-[\w-]+|<\w+>|"
                  r"\b\d+x\b|\bTop-[pk]\b|\bH\.264\b", re.IGNORECASE)
WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")

# What the person sees: everything but the model's own replies (the tiny model's words are random), whose
# stats line is ours and is kept.
SHOWN_TEXT = """() => {
  const parts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!element || element.closest("script, style, svg, footer")) continue;
    if (!element.checkVisibility()) continue;
    const reply = element.closest(".bot");
    if (reply && !element.closest("sub")) continue;
    parts.push(node.textContent);
  }
  for (const element of document.querySelectorAll("[placeholder], [aria-label]")) {
    if (element.checkVisibility()) parts.push(element.getAttribute("placeholder") || "");
  }
  return parts.join("\\n");
}"""


def english_in(text: str) -> list[str]:
    return [word for word in WORD.findall(CODE.sub(" ", text)) if word not in NAMES]


def test_a_chinese_browser_sees_no_english_of_ours(browser, app, short_video):
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_page(browser, app["url"], locale="zh-CN")
    page.locator("#advanced_image").get_by_text("高级设置").click()
    page.locator("#setting_max_new_tokens_image input[type=number]").fill("16")  # a short reply
    page.locator("#setting_max_new_tokens_image input[type=number]").press("Enter")
    page.locator("#chats_image").get_by_text("对话记录").click()
    page.get_by_role("button", name="这张图表展示了什么").first.click()  # the example, in Chinese, sent
    chatbot = page.locator("#chatbot_image")
    expect(chatbot).to_contain_text("哪一天的访客最多", timeout=30_000)
    expect(chatbot.locator(".bot").last).to_contain_text("token/秒", timeout=120_000)
    expect(page.locator("#send_image")).to_be_enabled(timeout=30_000)
    seen = [page.evaluate(SHOWN_TEXT)]

    page.locator("#send_image").click()  # nothing to send
    expect(page.locator(".toast-body").last).to_contain_text("请先输入问题或添加文件")
    page.locator("#input_image textarea").fill("这里发生了什么？")
    page.locator("#input_image input[type=file]").set_input_files(str(short_video))  # a video in the Image tab
    page.locator("#send_image").click()
    expect(page.locator(".toast-body").last).to_contain_text("是视频，不是图片", timeout=60_000)
    seen.append(page.evaluate(SHOWN_TEXT))
    page.screenshot(path=str(ARTIFACTS / "page-zh.png"), full_page=True)

    for tab, key in (("多图", "multi_image"), ("视频", "video")):
        page.get_by_role("tab", name=tab, exact=True).click()
        page.locator(f"#advanced_{key}").get_by_text("高级设置").click()
        seen.append(page.evaluate(SHOWN_TEXT))
    (ARTIFACTS / "page-zh.txt").write_text("\n".join(seen), encoding="utf-8")
    english = sorted(set(english_in("\n".join(seen))))
    assert not english, f"English on the zh-CN page: {english}"
    page.close()


def test_the_check_finds_english():
    assert english_in("Ready — tiny-bf16 · stopped") == ["Ready", "stopped"]
    assert english_in("就绪 — tiny-bf16，运行于 CPU · 视觉 token 64 · max_new_tokens · --max-images · red.png") == []
