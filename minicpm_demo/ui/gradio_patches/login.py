"""The Sign in button's label on a Space: ``gr.LoginButton`` reads the visitor's session through ``gr.Request``,
which turns dicts into objects and fails on any list in them; Hugging Face's profile lists the visitor's
organizations, so for every member of one the button raised an error at each page load and kept saying "Sign in".
This reads the session as Starlette holds it."""

from __future__ import annotations

from minicpm_demo.ui.gradio_patches.version import enabled


def sign_in_button_reads_the_session() -> bool:
    """Make ``gr.LoginButton`` label itself from the raw session (ui/sign_in.signed_in). Returns whether it did
    (not with another Gradio)."""
    if not enabled():
        return False
    from gradio import Request
    from gradio.components.login_button import LoginButton

    from minicpm_demo.ui.sign_in import scope_of, signed_in

    def check_login_status(self, request: Request) -> LoginButton:
        profile = signed_in(scope_of(request))
        if profile is None:
            return LoginButton(self.value, interactive=True)
        return LoginButton(self.logout_value.format(profile.get("preferred_username", "")), interactive=True)

    check_login_status.__annotations__ = {"request": Request}  # Gradio passes the request by this type hint
    LoginButton._check_login_status = check_login_status
    return True
