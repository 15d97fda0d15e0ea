"""The words of ``phrases``: each message the demo gives about a request, by key, in English and in Chinese.
Every key is in both catalogues (tests/test_house.py checks it)."""

EN = {
    # durations
    "duration.h": "{hours} h {minutes} min",
    "duration.m": "{minutes} min",
    "duration.ms": "{minutes} min {seconds} s",
    "duration.s": "{seconds} s",
    "kind.image": "image",
    "kind.video": "video",
    "kind.pdf": "PDF",
    # files
    "file.unreadable": "The {kind} {name!r} could not be read (it may have been removed). Upload it again.",
    "file.empty": "The {kind} {name!r} is empty (0 bytes). Upload the file again.",
    "file.too_large": "The {kind} {name!r} is {size_mb:.0f} MB; this demo takes up to {max_mb:.0f} MB. "
                      "Upload a smaller file or raise {flag}.",
    "images.too_many": "This conversation has {images} images; this demo takes up to {most} in one conversation, "
                       "as every question sends all of them to the model again. Start a new conversation (Clear) "
                       "with fewer, or raise --max-images.",
    "images.request_pixels": "The image {name!r} is {width}×{height} ({megapixels} megapixels); with it, this "
                             "request's images would take {total} megapixels, and this demo decodes up to {limit} in "
                             "one request, as every question sends the conversation's images again. Send smaller or "
                             "fewer images (Clear starts a new conversation), or raise --max-request-megapixels.",
    "image.bomb": "The image {name!r} has too many pixels (over {megapixels:.0f} megapixels) and may be a "
                  "decompression bomb. Resize it and upload it again.",
    "image.is_video": "{name!r} is a video, not an image. Ask about it in the Video tab (or send it as a video).",
    "image.tiff": "{name!r} is a TIFF this demo cannot read ({reason}). Save it as an 8-bit TIFF or PNG and upload "
                  "it again.",
    "image.tiff_samples": "The image {name!r} is {width}×{height} with {bits}-bit samples: {size_mb:,.0f} MB to "
                          "read, and this demo reads up to {max_mb:,.0f} MB of such samples. Save it with 8-bit "
                          "samples (or as PNG) and upload it again.",
    "image.unknown": "{name!r} is not an image this demo can read (supported: {formats}). Convert it to PNG or JPEG "
                     "and upload it again.",
    "image.damaged": "The image {name!r} is damaged or incomplete ({error}). Upload it again or re-save it as "
                     "PNG/JPEG.",
    "video.unknown": "{name!r} is not a video this demo can read, or its header is damaged. Upload an MP4 (H.264), "
                     "WebM or MOV file.",
    "video.unopened": "The video {name!r} could not be opened ({error}). Upload it again as MP4.",
    "video.no_frame": "The video {name!r} is damaged: no frame could be decoded. Upload it again.",
    "video.no_track": "{name!r} has no video track (audio only?). Upload a file with a picture.",
    "video.no_readable_frames": "The video {name!r} has no readable frames (zero length or damaged). Upload "
                                "another file.",
    "video.undecodable": "{name!r} has no frames this demo can decode (not a video, or damaged). Upload an MP4 "
                         "(H.264), WebM or MOV file.",
    "video.is_image": "{name!r} is a still image{pages}, not a video. Ask about it in the Image tab (or send it as "
                      "an image).",
    "video.pages": " (its pages are not frames of a video)",
    "video.is_pdf": "{name!r} is a PDF, not a video. Ask about it in the Image or Multi-image tab (they read pages).",
    "pdf.protected": "{name!r} is protected by a password, so its pages cannot be read. Remove the password (open it "
                     "and save or print it as a new PDF) and upload it again.",
    "pdf.damaged": "{name!r} is not a PDF this demo can read: it is damaged, or not a PDF{page}. Save or print it as a "
                   "new PDF, or send its pages as images.",
    "pdf.page": " (page {page} cannot be read)",
    "pdf.no_pages": "The PDF {name!r} has no pages. Upload a PDF with at least one page.",
    "video.no_samples": "No frames could be sampled from {name!r}. Upload a longer video.",
    "video.frame_size": "The video {name!r} has frames of {width}×{height}: more pixels than the {megapixels:.1f} "
                        "megapixels a frame may have in this demo. Scale it down (to 4K, say) and upload it again.",
    "video.too_long": "The video {name!r} is {duration}; this demo takes up to {most} — trim it or raise "
                      "--max-video-seconds.",
    "video.frame_rate": "The video {name!r} has more than {most:,} frames, over {rate} a second for the longest video "
                        "this demo takes. Trim it or lower its frame rate.",
    "video.request_frames": "Reading {name!r} means decoding {frames:,} frames of {width}×{height}, more than this "
                            "demo decodes for one request ({limit:g} gigapixels of video frames{left}). Send a shorter "
                            "or smaller video (an MP4 rather than an animation), lower max_num_frames or "
                            "stack_frames, or raise --max-request-video-gigapixels.",
    "video.frames_left": ", {left:.1f} of them left",
    "animation.too_many": "The animation {name!r} has {count:,} frames: this demo takes up to {most:,} ({duration} at "
                          "the fastest frame rate browsers play). Shorten it or send it as an MP4 video.",
    # notes on what was done to the media
    "note.first_frame": "{name}: animated image, the first frame was used",
    "note.first_page": "{name}: multi-page TIFF, the first page was used",
    "note.first_picture": "{name}: {format} file of several pictures, the first was used",
    "note.downscaled": "{name}: downscaled from {width}×{height} to {new_width}×{new_height}",
    "note.video_ended": "{name}: the video ended at frame {frame}; later samples reuse its last frame",
    "note.given_once": "{name}: attached {count} times to one question, given once",
    "reuse.image": "image encoding reused",
    "reuse.image_part": "image encoding reused for {done} of {total} parts",
    "reuse.video": "video encoding reused",
    "reuse.video_part": "video encoding reused for {done} of {total} frames and parts",
    "reuse.prefix": "prefix {tokens} tokens reused",
    "note.frames": "{name}: {frames} frames of {duration}",
    "note.one_frame": "{name}: 1 frame of {duration}",
    "note.pdf_page": "{name}: page {pages} of {count}{limit}",
    "note.pdf_pages": "{name}: pages {pages} of {count}{limit}",
    "note.pdf_limit": ", the page limit is {most}",
    # limits of a request
    "limit.question": "The question is {chars:,} characters long; this demo takes up to {most:,} in one question. "
                      "Shorten it or send it in parts, or raise --max-text-chars.",
    "limit.turns": "This conversation would have {turns} questions; this demo takes up to {most} in one "
                   "conversation, as every question sends all the earlier ones to the model again. Start a new "
                   "conversation (Clear), or raise --max-turns.",
    "limit.history": "This conversation would hold {chars:,} characters of text; this demo takes up to {most:,} in "
                     "one conversation, as every question sends all of it to the model again. Start a new "
                     "conversation (Clear) or send a shorter history, or raise --max-history-chars.",
    "limit.tokens": "This request is {tokens:,} tokens long (text and media together); this demo takes up to "
                    "{most:,} in one request. Start a new conversation, send fewer or smaller files, lower "
                    "max_num_frames or max_slice_nums, or raise --max-prompt-tokens.",
    "settings.system_prompt": "The system prompt is {chars:,} characters long; this demo takes up to {most:,}. "
                              "Shorten it in Advanced settings (system_prompt) and send again.",
    # what the machine can afford
    "gpu.out_of_memory": "The GPU ran out of memory for this request ({tokens} prompt tokens). Send less at once: a "
                         "lower max_slice_nums or max_num_frames, stack_frames 1, 16x instead of 4x — or start a new "
                         "conversation (Clear), as every question sends the earlier turns' images and videos again.",
    "gpu.seconds": "This request needs about {seconds} s of GPU time; this Space allows {cap} s per reply. Lower "
                   "max_new_tokens (now {max_new_tokens}), or for video max_num_frames / stack_frames, and send again.",
    "model.loading": "The model is still loading ({doing}). Please wait a moment and send again.",
    "model.load_wait": "The model is still loading after {seconds} s ({doing}), longer than this demo lets a "
                       "request wait (--load-wait-s). Send again in a moment.",
    "model.failed": "The model could not be loaded: {error}",
    # what a request would cost, before it is sent
    "budget.tokens": "The prompt would be {tokens:,} tokens; this demo takes up to {most:,} in one request.",
    "budget.context": "The prompt ({tokens:,} tokens) and the longest reply (max_new_tokens {reply:,}) exceed the "
                      "model's context of {context:,} tokens.",
    "budget.gpu": "It would ask for about {seconds} s of GPU time; this Space allows {cap} s per reply.",
    "budget.memory": "It would need about {need} of memory beyond the model's weights; the device has {free} free.",
    "fit.advice": "{problem} Try: {step}.",
    "fit.downsample": "16x instead of 4x",
    "fit.slices": "max_slice_nums {value}",
    "fit.stack": "stack_frames 1",
    "fit.frames": "max_num_frames {value}",
    # fair turns in the queue
    "queue.session": "This session already has {waiting} requests waiting for the model; this demo takes up to "
                     "{most} at once from one session, so that everyone gets a turn. Wait for them to finish (or "
                     "cancel one) and send again.",
    "queue.visitor": "You already have {waiting} requests waiting for the model (from other tabs or scripts); this "
                     "demo takes up to {most} at once from one visitor, so that everyone gets a turn. Wait for them "
                     "to finish and send again.",
    "signin.needed": "Sign in with Hugging Face (the button at the top of the page) to use this demo.",
    "signin.org": "This demo is for members of the {org} organization on Hugging Face, and {user} is not one. "
                  "Ask its admins to add you, or sign in with another account.",
    # chats brought back from the browser or an export
    "record.format": "This is not a chat saved by this demo (its format is not {format!r}). Export a chat with the "
                     "Export button to get one.",
    "record.too_large": "This chat is too large to open here (up to {turns} turns and {chars:,} characters).",
    "record.file_too_large": "This file is too large to be a chat exported by this demo.",
    "record.not_a_turn": "Turn {number} of this chat is not a turn.",
    "record.files": "Turn {number} of this chat has a malformed list of files.",
    "record.text": "Turn {number} of this chat has a {name} that is not text of up to {most:,} characters.",
    "record.file": "Turn {number} of this chat names a file in a malformed way.",
}

ZH = {
    "duration.h": "{hours} 小时 {minutes} 分钟",
    "duration.m": "{minutes} 分钟",
    "duration.ms": "{minutes} 分 {seconds} 秒",
    "duration.s": "{seconds} 秒",
    "kind.image": "图片",
    "kind.video": "视频",
    "kind.pdf": "PDF",
    "file.unreadable": "无法读取{kind} {name!r}（可能已被删除）。请重新上传。",
    "file.empty": "{kind} {name!r} 是空文件（0 字节）。请重新上传。",
    "file.too_large": "{kind} {name!r} 大小为 {size_mb:.0f} MB；本演示最多接受 {max_mb:.0f} MB。"
                      "请上传更小的文件，或调大 {flag}。",
    "images.too_many": "本次对话有 {images} 张图片；本演示一次对话最多 {most} 张，"
                       "因为每次提问都会把它们全部重新发给模型。"
                       "请用更少的图片开始新对话（清空），或调大 --max-images。",
    "images.request_pixels": "图片 {name!r} 为 {width}×{height}（{megapixels} 百万像素）；加上它，"
                             "本次请求的图片共 {total} "
                             "百万像素，而本演示一次请求最多解码 {limit} 百万像素，"
                             "因为每次提问都会重新发送对话中的图片。"
                             "请发送更小或更少的图片（“清空”可开始新对话），或调大 --max-request-megapixels。",
    "image.bomb": "图片 {name!r} 像素过多（超过 {megapixels:.0f} 百万像素），可能是解压炸弹。请缩小后重新上传。",
    "image.is_video": "{name!r} 是视频，不是图片。请在“视频”标签页中提问（或作为视频发送）。",
    "image.tiff": "{name!r} 是本演示无法读取的 TIFF（{reason}）。请另存为 8 位 TIFF 或 PNG 后重新上传。",
    "image.tiff_samples": "图片 {name!r} 为 {width}×{height}，每个采样 {bits} 位：需要读取 {size_mb:,.0f} MB，"
                          "而本演示最多读取 {max_mb:,.0f} MB 这样的数据。请另存为 8 位采样（或 PNG）后重新上传。",
    "image.unknown": "{name!r} 不是本演示能读取的图片（支持：{formats}）。请转换为 PNG 或 JPEG 后重新上传。",
    "image.damaged": "图片 {name!r} 已损坏或不完整（{error}）。请重新上传，或另存为 PNG/JPEG。",
    "video.unknown": "{name!r} 不是本演示能读取的视频，或其文件头已损坏。请上传 MP4（H.264）、WebM 或 MOV 文件。",
    "video.unopened": "无法打开视频 {name!r}（{error}）。请转为 MP4 后重新上传。",
    "video.no_frame": "视频 {name!r} 已损坏：没有可解码的帧。请重新上传。",
    "video.no_track": "{name!r} 没有视频轨道（只有音频？）。请上传有画面的文件。",
    "video.no_readable_frames": "视频 {name!r} 没有可读取的帧（长度为零或已损坏）。请上传其他文件。",
    "video.undecodable": "{name!r} 没有本演示能解码的帧（不是视频，或已损坏）。请上传 MP4（H.264）、WebM 或 MOV 文件。",
    "video.is_image": "{name!r} 是静态图片{pages}，不是视频。请在“单图”标签页中提问（或作为图片发送）。",
    "video.pages": "（其各页不是视频的帧）",
    "video.is_pdf": "{name!r} 是 PDF 文档，不是视频。请在“单图”或“多图”标签页中提问，它们会读取其页面。",
    "pdf.protected": "{name!r} 受密码保护，无法读取其页面。请去除密码（打开后另存或打印为新的 PDF）后重新上传。",
    "pdf.damaged": "{name!r} 不是本演示能读取的 PDF：文件已损坏，或不是 PDF{page}。"
                   "请另存或打印为新的 PDF，或把各页作为图片发送。",
    "pdf.page": "（第 {page} 页无法读取）",
    "pdf.no_pages": "PDF {name!r} 没有页面。请上传至少有一页的 PDF。",
    "video.no_samples": "无法从 {name!r} 中采样到帧。请上传更长的视频。",
    "video.frame_size": "视频 {name!r} 的帧为 {width}×{height}：超过本演示每帧允许的 {megapixels:.1f} 百万像素。"
                        "请缩小（例如到 4K）后重新上传。",
    "video.too_long": "视频 {name!r} 时长 {duration}；本演示最多接受 {most}——请剪短，或调大 --max-video-seconds。",
    "video.frame_rate": "视频 {name!r} 超过 {most:,} 帧，对本演示接受的最长视频而言每秒超过 {rate} 帧。"
                        "请剪短或降低帧率。",
    "video.request_frames": "读取 {name!r} 需要解码 {frames:,} 帧 {width}×{height}，超过本演示一次请求的解码量"
                            "（{limit:g} 十亿像素的视频帧{left}）。请发送更短或更小的视频（MP4 而不是动图），"
                            "调低 max_num_frames 或 stack_frames，或调大 --max-request-video-gigapixels。",
    "video.frames_left": "，剩余 {left:.1f}",
    "animation.too_many": "动图 {name!r} 有 {count:,} 帧："
                          "本演示最多接受 {most:,} 帧（按浏览器播放的最快帧率为 {duration}）。"
                          "请缩短，或作为 MP4 视频发送。",
    "note.first_frame": "{name}：动图，使用了第一帧",
    "note.first_page": "{name}：多页 TIFF，使用了第一页",
    "note.first_picture": "{name}：含多张图片的 {format} 文件，使用了第一张",
    "note.downscaled": "{name}：已从 {width}×{height} 缩小到 {new_width}×{new_height}",
    "note.video_ended": "{name}：视频在第 {frame} 帧结束；之后的采样沿用最后一帧",
    "note.given_once": "{name}：同一问题中添加了 {count} 次，只发送一次",
    "reuse.image": "沿用了图片编码",
    "reuse.image_part": "沿用了 {total} 个图片分块中 {done} 个的编码",
    "reuse.video": "沿用了视频编码",
    "reuse.video_part": "沿用了 {total} 个视频帧与分块中 {done} 个的编码",
    "reuse.prefix": "沿用了前 {tokens} 个词元",
    "note.frames": "{name}：{duration}视频中取 {frames} 帧",
    "note.one_frame": "{name}：{duration}视频中取 1 帧",
    "note.pdf_page": "{name}：第 {pages} 页，共 {count} 页{limit}",
    "note.pdf_pages": "{name}：第 {pages} 页，共 {count} 页{limit}",
    "note.pdf_limit": "，页数上限为 {most}",
    "limit.question": "问题长 {chars:,} 个字符；本演示一个问题最多 {most:,} 个字符。请缩短或分几次发送，"
                      "或调大 --max-text-chars。",
    "limit.turns": "本次对话将有 {turns} 个问题；本演示一次对话最多 {most} 个，"
                   "因为每次提问都会把之前的问题全部重新发给模型。"
                   "请开始新对话（清空），或调大 --max-turns。",
    "limit.history": "本次对话将包含 {chars:,} 个字符的文本；本演示一次对话最多 {most:,} 个，"
                     "因为每次提问都会全部重新发给模型。"
                     "请开始新对话（清空）或发送更短的历史，或调大 --max-history-chars。",
    "limit.tokens": "本次请求长 {tokens:,} 个 token（文本和媒体合计）；本演示一次请求最多 {most:,} 个。请开始新对话，"
                    "发送更少或更小的文件，调低 max_num_frames 或 max_slice_nums，或调大 --max-prompt-tokens。",
    "settings.system_prompt": "系统提示长 {chars:,} 个字符；本演示最多 {most:,} 个。"
                              "请在高级设置中缩短系统提示（system_prompt）后重新发送。",
    "gpu.out_of_memory": "GPU 显存不足以处理本次请求（{tokens} 个提示 token）。请一次少发一些：调低 max_slice_nums 或 "
                         "max_num_frames，stack_frames 设为 1，用 16x 代替 4x——或开始新对话（清空），因为每次提问都会"
                         "重新发送之前的图片和视频。",
    "gpu.seconds": "本次请求约需 {seconds} 秒 GPU 时间；本 Space 每次回答最多 {cap} 秒。请调低 max_new_tokens"
                   "（当前 {max_new_tokens}），视频可调低 max_num_frames / stack_frames，然后重新发送。",
    "model.loading": "模型仍在加载中（{doing}）。请稍候再发送。",
    "model.load_wait": "等待 {seconds} 秒后模型仍在加载中（{doing}），超过了本演示允许请求等待的时间"
                       "（--load-wait-s）。请稍后再发送。",
    "model.failed": "模型无法加载：{error}",
    "budget.tokens": "提示将有 {tokens:,} 个 token；本演示一次请求最多 {most:,} 个。",
    "budget.context": "提示（{tokens:,} 个 token）加上最长的回答（max_new_tokens {reply:,}）"
                      "超出了模型 {context:,} 个 token 的上下文。",
    "budget.gpu": "它将需要约 {seconds} 秒 GPU 时间；本 Space 每次回答最多 {cap} 秒。",
    "budget.memory": "除模型权重外还需约 {need} 内存；设备只剩 {free} 可用。",
    "fit.advice": "{problem} 可以试试：{step}。",
    "fit.downsample": "用 16x 代替 4x",
    "fit.slices": "max_slice_nums 设为 {value}",
    "fit.stack": "stack_frames 设为 1",
    "fit.frames": "max_num_frames 设为 {value}",
    "queue.session": "此会话已有 {waiting} 个请求在等待模型；本演示每个会话同时最多 {most} 个，让每个人都能轮到。"
                     "请等它们完成（或取消一个）后再发送。",
    "queue.visitor": "您已有 {waiting} 个请求在等待模型（来自其他标签页或脚本）；本演示每位访客同时最多 {most} 个，"
                     "让每个人都能轮到。请等它们完成后再发送。",
    "signin.needed": "请先用 Hugging Face 账号登录（页面顶部的按钮），再使用本演示。",
    "signin.org": "本演示仅供 Hugging Face 上 {org} 组织的成员使用，{user} 不是其成员。请联系其管理员添加您，"
                  "或换一个账号登录。",
    "record.format": "这不是本演示保存的对话（其格式不是 {format!r}）。请用“导出”按钮导出对话。",
    "record.too_large": "这个对话太大，无法在此打开（最多 {turns} 轮、{chars:,} 个字符）。",
    "record.file_too_large": "这个文件太大，不可能是本演示导出的对话。",
    "record.not_a_turn": "此对话的第 {number} 轮格式不正确。",
    "record.files": "此对话第 {number} 轮的文件列表格式不正确。",
    "record.text": "此对话第 {number} 轮的 {name} 不是不超过 {most:,} 个字符的文本。",
    "record.file": "此对话第 {number} 轮中的文件格式不正确。",
}
