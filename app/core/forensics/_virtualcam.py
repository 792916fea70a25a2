"""Where a recording came from: capture device (virtual cameras) and writing application (file tags).

A virtual camera is a driver that shows up as a webcam but plays whatever a program feeds it: a
prepared video, a face-swap stream, a screen. Its device name usually gives it away, so live capture
stores the name in a :class:`CaptureRecord` and :func:`match_virtual_camera` checks it against
:data:`VIRTUAL_CAMERAS`. A match is strong evidence that the picture did not come straight from a
lens; no match proves nothing (drivers can be renamed). For a file, :func:`judge_metadata` reads the
container tags for the program that wrote it.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

SAMPLE_MAX = 600  # frame intervals kept verbatim in a CaptureRecord
SOURCES = ("file", "camera", "screen")

# (product, patterns). Patterns are case-insensitive regular expressions searched in the device name
# as Windows (DirectShow / Media Foundation), macOS (AVFoundation) and Linux (V4L2 card label) show
# it. Order matters: specific names come before the generic ones they contain ("XSplit VCam" before
# e2eSoft's bare "VCam", "iVCam" before both).
VIRTUAL_CAMERAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("OBS Virtual Camera", (r"\bobs[ -]?virtual[ -]?cam", r"\bobs[ -]camera\b", r"\bobs[ -]?virtualcam")),
    ("Streamlabs virtual webcam", (r"streamlabs",)),
    ("ManyCam", (r"manycam",)),
    ("XSplit VCam", (r"xsplit",)),
    ("Snap Camera", (r"\bsnap camera\b",)),
    ("DroidCam", (r"droidcam",)),
    ("iVCam", (r"\bivcam\b",)),
    ("e2eSoft VCam", (r"e2esoft", r"^\s*vcam\b", r"\bvcam (source|capture|video)")),
    ("NVIDIA Broadcast", (r"nvidia broadcast",)),
    ("CyberLink YouCam", (r"youcam", r"cyberlink")),
    ("Logitech Capture", (r"logitech capture",)),
    ("Camo", (r"\bcamo\b", r"reincubate")),
    ("EpocCam", (r"epoccam", r"kinoni")),
    ("Iriun Webcam", (r"iriun",)),
    ("NDI Virtual Input", (r"ndi virtual input", r"ndi webcam", r"newtek ndi")),
    ("Elgato Camera Hub", (r"elgato virtual camera", r"camera hub")),
    ("v4l2loopback", (r"dummy video device", r"v4l2[ _-]?loopback")),
    ("AlterCam", (r"altercam",)),
    ("SplitCam", (r"splitcam",)),
    ("Avatarify", (r"avatarify",)),
    ("DeepFaceLive / Deep-Live-Cam", (r"deep ?face ?live", r"deep[ -]?live[ -]?cam")),
    ("Webcamoid / AkVCam", (r"webcamoid", r"\bakvcam\b")),
    ("mmhmm", (r"\bmmhmm\b",)),
    ("FaceRig / Animaze", (r"facerig", r"animaze")),
    ("Unity Video Capture", (r"unity video capture",)),
    ("VTube Studio", (r"vtube studio",)),
    ("virtual camera (unnamed product)", (r"\bvirtual\s*(web)?cam", r"\bvirtual video\b")),
)

_COMPILED = tuple((name, tuple(re.compile(p, re.IGNORECASE) for p in pats)) for name, pats in VIRTUAL_CAMERAS)

_APPS = (  # (writing application, pattern over tag values), editing tools first
    ("CapCut / 剪映", r"capcut|剪映|jianying"), ("Adobe", r"adobe|premiere|after effects|media encoder"),
    ("HandBrake", r"handbrake"), ("DaVinci Resolve", r"davinci|resolve|blackmagic"),
    ("Final Cut / iMovie", r"final cut|imovie"), ("Filmora", r"filmora|wondershare"),
    ("Camtasia", r"camtasia"), ("Kdenlive / Shotcut", r"kdenlive|shotcut|\bmlt\b"),
    ("OBS Studio", r"\bobs\b|obs studio"), ("FFmpeg (libavformat)", r"^lav[fc]\d|libav|ffmpeg"),
    ("L-SMASH / x264", r"l-smash|x264"), ("GPAC / MP4Box", r"gpac|mp4box"),
)
_EDITORS = {"CapCut / 剪映", "Adobe", "HandBrake", "DaVinci Resolve", "Final Cut / iMovie", "Filmora", "Camtasia",
            "Kdenlive / Shotcut"}
_DEVICE_KEYS = re.compile(r"make|model|location|iso6709|com\.android\.|firmware|camera", re.IGNORECASE)
_DEVICE_HANDLERS = re.compile(r"core media|videohandle|soundhandle|apple", re.IGNORECASE)


def match_virtual_camera(name: str) -> str | None:
    """The virtual-camera product a capture-device name belongs to, if it is a known one.

    Parameters
    ----------
    name : str
        Device name as the operating system reports it, e.g. ``"OBS Virtual Camera"``.

    Returns
    -------
    str or None
        Product name from :data:`VIRTUAL_CAMERAS`, or ``None`` for an ordinary (or unknown) camera.
    """
    text = " ".join(str(name or "").split())
    for product, patterns in _COMPILED:
        if any(p.search(text) for p in patterns):
            return product
    return None


def interval_summary(intervals_ms: Sequence[float]) -> dict[str, float]:
    """count, mean, sd, p5, median, p95 and max of frame intervals in milliseconds (empty if none)."""
    xs = sorted(float(x) for x in intervals_ms)
    if not xs:
        return {}

    def pct(q: float) -> float:
        return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]

    return dict(count=float(len(xs)), mean=statistics.fmean(xs),
                sd=statistics.pstdev(xs) if len(xs) > 1 else 0.0,
                p5=pct(0.05), median=pct(0.5), p95=pct(0.95), max=xs[-1])


@dataclass
class CaptureRecord:
    """How a recording was captured; live capture fills it, file analysis may receive one.

    Attributes
    ----------
    source : str
        ``"file"``, ``"camera"`` or ``"screen"``.
    device_name, device_id : str or None
        Capture device as the OS names it, and its OS identifier (path, symbolic link, unique id).
    virtual_camera : str or None
        Product from :func:`match_virtual_camera` when the device is a known virtual camera.
    frame_intervals_ms : list of float
        A bounded sample (at most :data:`SAMPLE_MAX`, evenly spread) of the frame arrival intervals.
    interval_summary : dict
        Summary of *all* intervals (see :func:`interval_summary`), not only the sample.
    started_at : str or None
        ISO-8601 time capture started.
    os : str or None
        Operating system description, e.g. ``"Windows-10-10.0.19045"``.
    app_version : str or None
        Vigil version that captured.
    """

    source: str = "file"
    device_name: str | None = None
    device_id: str | None = None
    virtual_camera: str | None = None
    frame_intervals_ms: list[float] = field(default_factory=list)
    interval_summary: dict[str, float] = field(default_factory=dict)
    started_at: str | None = None
    os: str | None = None
    app_version: str | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"capture source must be one of {SOURCES}, not {self.source!r}")
        if self.virtual_camera is None and self.device_name:
            self.virtual_camera = match_virtual_camera(self.device_name)

    def set_intervals(self, intervals_ms: Sequence[float]) -> None:
        """Store the summary of all intervals and an evenly spread sample of at most SAMPLE_MAX."""
        xs = [float(x) for x in intervals_ms]
        self.interval_summary = interval_summary(xs)
        step = max(1, -(-len(xs) // SAMPLE_MAX))
        self.frame_intervals_ms = xs[::step][:SAMPLE_MAX]

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaptureRecord:
        """Rebuild from :meth:`to_dict` output; unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in known}
        kw["frame_intervals_ms"] = [float(x) for x in kw.get("frame_intervals_ms") or []]
        kw["interval_summary"] = {str(k): float(v) for k, v in (kw.get("interval_summary") or {}).items()}
        return cls(**kw)


def _tags(container: Any) -> dict[str, str]:
    """Container and stream tags, keyed ``format.<tag>`` and ``<type><index>.<tag>``."""
    tags = {f"format.{k}": str(v) for k, v in (container.metadata or {}).items()}
    for s in container.streams:
        tags.update({f"{s.type}{s.index}.{k}": str(v) for k, v in (s.metadata or {}).items()})
    return tags


def judge_metadata(container: Any) -> tuple[float, str, dict[str, Any]]:
    """Which program wrote a file, and whether it looks like a camera/phone original.

    Parameters
    ----------
    container : av.container.InputContainer
        The open file; its format and stream tags are read.

    Returns
    -------
    tuple
        ``(score, summary, evidence)`` of the ``metadata`` finding: 0 for device tags without a
        writing tool, 0.05-0.1 for an unnamed or phone-framework writer, 0.2-0.3 for FFmpeg, L-SMASH
        or OBS, 0.4 for an editing application. Re-encoding is common and innocent: the integrity
        score gives this finding no weight (context only).
    """
    tags = _tags(container)
    apps = [name for name, pat in _APPS
            if any(re.search(pat, v, re.IGNORECASE) for k, v in tags.items()
                   if k.split(".", 1)[1] in ("encoder", "handler_name", "software", "comment", "encoded_by")
                   or "software" in k)]
    device = sorted(k for k in tags if _DEVICE_KEYS.search(k.split(".", 1)[1]))
    handlers = sorted({v for k, v in tags.items() if k.endswith("handler_name") and _DEVICE_HANDLERS.search(v)})
    editors = [a for a in apps if a in _EDITORS]
    ev = dict(format=container.format.name, writing_apps=apps, device_tags=device, device_handlers=handlers,
              tags={k: v for k, v in tags.items() if not k.endswith(("language", "vendor_id"))})
    if device and not apps:
        return (0.0, "Looks like a camera or phone original: it carries device tags "
                f"({', '.join(device[:3])}).", ev)
    if editors:
        return (0.4, f"The file was written by editing software ({', '.join(editors)}): not a camera original. "
                "Editing is not proof of tampering: context only, not counted in the score.", ev)
    if apps:
        how = "recorded or exported by OBS Studio" if "OBS Studio" in apps else f"written by {apps[0]}"
        return (0.3 if "OBS Studio" in apps else 0.2,
                f"The file was {how}, so it was re-encoded or re-packaged after capture. This is common "
                "and innocent (meeting recorders and converters do it): context only, not counted in the score.", ev)
    if handlers:
        return (0.05, f"Written by Apple's or Android's recording framework ({handlers[0]}); no editing "
                "tool is named.", ev)
    return (0.1, "The file does not say which program wrote it.", ev)
