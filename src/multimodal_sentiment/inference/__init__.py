"""Dataset-scale inference commands: `multimodal-sentiment caption` and `multimodal-sentiment predict`.

Both stream their input in batches, show a progress bar, and append to their output so a killed
run resumes where it stopped (ids already in the output are skipped).
"""
