"""Application services: what the CLI and the GUI both do (analyse, finalise, export, bench).

This layer joins the headless core to the store. It imports no Qt, so the CLI stays light and the
GUI runs the same code in a worker thread.
"""
