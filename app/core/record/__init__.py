"""Live recording: video and audio sources, a crash-safe fragmented-MP4 writer, the recorder."""

from app.core.record.audio import (AudioDevice, AudioSource, NoAudioDevice, list_audio_inputs,
                                   open_audio_source)
from app.core.record.recorder import Recorder, RecordingResult, record
from app.core.record.video import (CameraDevice, SourceError, VideoSource, list_cameras, open_video_source)
from app.core.record.writer import DiskFull

__all__ = ["AudioDevice", "AudioSource", "CameraDevice", "DiskFull", "NoAudioDevice", "Recorder",
           "RecordingResult", "SourceError", "VideoSource", "list_audio_inputs", "list_cameras",
           "open_audio_source", "open_video_source", "record"]
