"""The read side: results as DataFrames, comparison tables, figures, web pages, and what
is made from a recorded run (samples, exports)."""
