"""What the demo tells the people who use it about their requests (refused files, limits, notes on the media), in
English and Chinese.

A ``Phrase`` is the English text, so logs, the API and ``str(error)`` read as they always do, and it keeps its key
and values, so that the page can say it again in the visitor's language. Messages for the operator (a checkpoint
that does not load, a model server that does not answer) name flags and paths and stay English.
"""

from __future__ import annotations

from minicpm_demo.phrasebook import EN, ZH

CATALOGUES = {"en": EN, "zh": ZH}


class Phrase(str):
    """A message in English that can be said again in another language (its values may be phrases too)."""

    key: str
    values: dict

    def __new__(cls, key: str, **values) -> Phrase:
        phrase = super().__new__(cls, EN[key].format(**values))
        phrase.key, phrase.values = key, values
        return phrase

    def said_in(self, lang: str) -> str:
        values = {name: said_in(value, lang) for name, value in self.values.items()}
        return CATALOGUES.get(lang, EN)[self.key].format(**values)

    def __reduce__(self):  # pickled (Gradio's state copies) as the phrase it is
        return (_phrase, (self.key, self.values))


def _phrase(key: str, values: dict) -> Phrase:
    return Phrase(key, **values)


def said_in(text, lang: str):
    """``text`` in ``lang`` when it is a phrase; any other value as it is."""
    return text.said_in(lang) if isinstance(text, Phrase) else text


def error_in(error: BaseException, lang: str) -> str:
    """An error's message in ``lang``, where it was raised with a phrase."""
    return str(said_in(error.args[0], lang)) if len(error.args) == 1 else str(error)


def to_data(text):
    """A note as JSON, a phrase as its key and values, so that a chat read back says it in the page's language."""
    if isinstance(text, Phrase):
        return {"key": text.key, "values": {name: to_data(value) for name, value in text.values.items()}}
    return text if isinstance(text, (int, float)) and not isinstance(text, bool) else str(text)


def from_data(data, depth: int = 0) -> str | None:
    """A note read back from JSON that came from a browser: a phrase of a known key with plain values, or text."""
    if isinstance(data, str):
        return data[:300]
    if not (isinstance(data, dict) and data.get("key") in EN and isinstance(data.get("values"), dict) and depth < 3):
        return None
    values = {}
    for name, value in list(data["values"].items())[:10]:
        value = from_data(value, depth + 1) if isinstance(value, (dict, str)) else value
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            return None
        values[str(name)] = value
    try:
        return Phrase(data["key"], **values)
    except (KeyError, ValueError, TypeError, IndexError, OverflowError):  # values that do not fit its text
        return None
