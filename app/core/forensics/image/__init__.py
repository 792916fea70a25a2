"""Still-image tampering checks (PS篡改识别): ELA, noise, JPEG traces, metadata, copy-move.

The entry point is :func:`app.core.forensics.image.check.check_image`.
"""
