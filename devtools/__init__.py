"""Test and benchmark tooling: the tiny checkpoint and the full-size shape twin. The app never imports it."""
