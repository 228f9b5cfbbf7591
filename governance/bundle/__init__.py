"""Signed per-layer policy bundles: build, verify, load and live-reload what CI approved."""
