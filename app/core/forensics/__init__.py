"""Forensic checks on still media (tampering traces in ID photos, screenshots and documents)."""
