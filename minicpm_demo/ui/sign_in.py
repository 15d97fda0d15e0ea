"""With ``--hf-oauth`` on a Space: visitors sign in with their Hugging Face account (Gradio's ``LoginButton``),
and with ``--hf-org ORG`` only the organization's members may use the model.

Gradio keeps a visitor's sign-in in its session cookie (``scope["session"]["oauth_info"]``); the page's
questions, the Compare tab and ``/chat`` are all asked here before they join the model's queue. On ZeroGPU a
signed-in visitor's requests count against their own GPU quota (docs/DEPLOY.md).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from minicpm_demo.phrases import Phrase

log = logging.getLogger(__name__)
ORGS_KEY = "minicpm_demo_orgs"  # the visitor's organizations, once looked up, kept in their own session


def scope_of(request) -> dict | None:
    """The ASGI scope behind a ``gr.Request``: a queued event's request wraps the one its queue join came with, and
    reading Gradio's wrapper attribute by attribute would copy the session through JSON."""
    from starlette.requests import HTTPConnection

    for _ in range(3):
        if isinstance(request, HTTPConnection):
            return request.scope
        request = vars(request).get("request") if hasattr(request, "__dict__") else None
    return None


def signed_in(scope: dict | None) -> dict[str, Any] | None:
    """The signed-in visitor's profile (``name``, ``preferred_username``, …) from an ASGI ``scope``'s session, or
    None when nobody is signed in or the sign-in expired."""
    session = (scope or {}).get("session")
    info = session.get("oauth_info") if isinstance(session, dict) else None
    if not isinstance(info, dict) or not isinstance(info.get("userinfo"), dict):
        return None
    expires_at = info.get("expires_at")
    if isinstance(expires_at, (int, float)) and expires_at < time.time():
        return None
    return info["userinfo"]


def _organizations(scope: dict, profile: dict[str, Any]) -> set[str]:
    """The organizations the visitor belongs to: from the profile Hugging Face gave at sign-in, else asked of
    Hugging Face once with the visitor's own token and kept in their session."""
    listed = profile.get("orgs")
    if isinstance(listed, list):
        return {str(org.get("preferred_username") or org.get("name")) for org in listed if isinstance(org, dict)}
    session = scope["session"]
    if ORGS_KEY not in session:
        from huggingface_hub import whoami

        try:
            orgs = whoami(token=session["oauth_info"].get("access_token"))["orgs"]
            session[ORGS_KEY] = [str(org.get("name")) for org in orgs]
        except Exception as error:  # Hugging Face unreachable: no membership can be shown, so none is assumed
            log.warning("could not list the organizations of %s: %s", profile.get("preferred_username"), error)
            return set()
    return set(session[ORGS_KEY])


@dataclass(frozen=True)
class HfSignIn:
    org: str | None = None  # only this organization's members may use the model

    def refusal(self, scope: dict | None) -> Phrase | None:
        """Why the visitor of ``scope`` may not ask the model now (not signed in, not a member), or None."""
        profile = signed_in(scope)
        if profile is None:
            return Phrase("signin.needed")
        if self.org and self.org not in _organizations(scope, profile):
            return Phrase("signin.org", org=self.org, user=str(profile.get("preferred_username", "")))
        return None
