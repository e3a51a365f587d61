"""``gtcrn-bench conversions``: every deployment target checked for numbers, quality and speed in one run."""
