"""PDF documents as the pictures of their first pages, rendered with pdfium (pypdfium2).

Every page is rendered at about the same number of pixels whatever its paper size (a receipt, a slide, an A3
drawing), so that each page costs the model about the same slices, and no page size, however large it claims to
be, makes a larger bitmap. The pages used are bounded by the page limit, and their pixels are charged to the
request's budget from the page sizes, before any page is rendered.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from minicpm_demo.cancel import Cancelled, never
from minicpm_demo.media.limits import MediaError, MediaLimits, RequestBudget, check_file, names_the_file
from minicpm_demo.phrases import Phrase

HEADER = b"%PDF-"
HEADER_WITHIN = 1024  # PDF readers look for the header in the first kilobyte: some writers put bytes before it
# pdfium's reasons for a document it does not open (FPDF_GetLastError)
FILE, PASSWORD, SECURITY = 1, 4, 5
# pdfium is not thread-safe, not even across documents: every use of it, in any thread, holds this lock.
_PDFIUM = threading.Lock()


@dataclass
class RenderedPdf:
    pages: list  # PIL images, RGB, in page order
    scales: list[float]  # pdfium's render scale of each page (pixels per point), for a script to render them again
    count: int  # pages in the document
    notes: list[str] = field(default_factory=list)


def is_pdf(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds a PDF (its header in the first kilobyte) or is named as one; a file named .pdf that
    is not one is then refused as a PDF that cannot be read, which is what its name promised."""
    try:
        with open(path, "rb") as file:
            if HEADER in file.read(HEADER_WITHIN):
                return True
    except OSError:
        pass
    return str(path).lower().endswith(".pdf")


@names_the_file
def pdf_pages(path: str | os.PathLike, limits: MediaLimits = MediaLimits()) -> int:
    """How many pages of the PDF at ``path`` the model is given (the first ones, up to the page limit); opening it
    refuses a damaged, empty or password-protected file."""
    name = check_file(path, "pdf", limits.max_image_bytes, "--max-image-mb")
    with _opened(path, name) as document:
        return min(len(document), limits.max_pdf_pages)


@names_the_file
def render_pdf(path: str | os.PathLike, limits: MediaLimits = MediaLimits(), budget: RequestBudget | None = None,
               cancelled: Callable[[], bool] = never) -> RenderedPdf:
    """The first pages of the PDF at ``path``, up to ``limits.max_pdf_pages``, as RGB pictures on white, with a
    note saying which pages were used. Raises ``Cancelled`` between pages once ``cancelled()`` turns true."""
    from pypdfium2 import PdfiumError

    name = check_file(path, "pdf", limits.max_image_bytes, "--max-image-mb")
    budget = budget or limits.budget()
    with _opened(path, name) as document:
        count = len(document)
        used = min(count, limits.max_pdf_pages)
        scales, sizes = [], []
        for index in range(used):  # from the page tree, before any page's content is read
            try:
                width, height = document.get_page_size(index)
            except PdfiumError:  # the page tree names a page that is not there
                raise _damaged(name, index) from None
            scale = page_scale(width, height, limits)
            if scale is None:
                raise _damaged(name, index)
            scales.append(scale)
            sizes.append((math.ceil(width * scale), math.ceil(height * scale)))
        for index, (width, height) in enumerate(sizes):
            budget.charge_image(f"{name}, page {index + 1}", width, height)
        pages = []
        for index, scale in enumerate(scales):
            if cancelled():
                raise Cancelled
            pages.append(_rendered(document, index, scale, name))
    limit = Phrase("note.pdf_limit", most=limits.max_pdf_pages) if used < count else ""
    shown = "1" if used == 1 else f"1–{used}"
    note = Phrase("note.pdf_page" if used == 1 else "note.pdf_pages", name=name, pages=shown, count=count,
                  limit=limit)
    return RenderedPdf(pages=pages, scales=scales, count=count, notes=[note])


def page_scale(width: float, height: float, limits: MediaLimits) -> float | None:
    """pdfium's scale (pixels per point) for a page of ``width`` × ``height`` points: about
    ``limits.pdf_page_pixels`` pixels, the longer side at most ``limits.max_image_side``; None for a page with no
    size."""
    if not (math.isfinite(width) and math.isfinite(height) and width > 0 and height > 0):
        return None
    scale = math.sqrt(limits.pdf_page_pixels / (width * height))
    # one pixel to spare: pdfium's bitmap rounds each side up
    return min(scale, (limits.max_image_side - 1) / max(width, height))


def _rendered(document, index: int, scale: float, name: str):
    from pypdfium2 import PdfiumError

    try:
        page = document[index]
    except PdfiumError:
        raise _damaged(name, index) from None
    try:
        bitmap = page.render(scale=scale)
        try:
            return bitmap.to_pil()  # pdfium's BGR as RGB: a copy of its own
        finally:
            bitmap.close()
    finally:
        page.close()


def _damaged(name: str, index: int) -> MediaError:
    return MediaError(Phrase("pdf.damaged", name=name, page=Phrase("pdf.page", page=index + 1)))


@contextmanager
def _opened(path, name: str) -> Iterator:
    """The document, its forms filled in as a reader shows them, under pdfium's lock; what pdfium cannot open
    becomes a MediaError."""
    import pypdfium2

    with _PDFIUM:
        # pdfium's own call: pypdfium2's refuses a document of no pages with pdfium's last error, which is then
        # whatever an earlier document's was.
        handle = pypdfium2.raw.FPDF_LoadDocument(os.fsencode(path), None)
        if not handle:
            code = pypdfium2.raw.FPDF_GetLastError()
            if code in (PASSWORD, SECURITY):
                raise MediaError(Phrase("pdf.protected", name=name))
            if code == FILE:
                raise MediaError(Phrase("file.unreadable", kind=Phrase("kind.pdf"), name=name))
            raise MediaError(Phrase("pdf.damaged", name=name, page=""))
        document = pypdfium2.PdfDocument(handle)
        try:
            if not len(document):
                raise MediaError(Phrase("pdf.no_pages", name=name))
            document.init_forms()
            yield document
        finally:  # closed here, under the lock, rather than by a finalizer on whatever thread collects it
            document.close()
