"""Headless core: media, face, analysers and the pipeline. Never imports Qt or SQL."""
