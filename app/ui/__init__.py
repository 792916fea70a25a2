"""The Qt review workstation (PySide6 + pyqtgraph). Only this package imports Qt."""
