"""Deployment conversions of the streaming GTCRN: artefacts for other runtimes, and stepping them frame by frame."""
