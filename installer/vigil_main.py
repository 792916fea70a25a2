"""Entry point of the frozen app: ``vigil`` in the PyInstaller bundle runs the command-line interface."""

import multiprocessing

from app.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a child process of the frozen app runs the child's code, not main()
    raise SystemExit(main())
