"""The dataset pipeline: sources -> secret scrubbing -> filters -> dedup -> split -> export.

Each stage is one small module working on in-memory `Example` objects; only
`sources` touches the database. `runner.run_pipeline` chains the stages and records the
funnel (kept/dropped per stage, with reasons and scrubbed samples).
"""
