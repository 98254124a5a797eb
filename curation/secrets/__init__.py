"""Secret detection and redaction for everything Academy stores, shows or trains on.

`scrub(text)` returns the redacted text and where its `[REDACTED:kind]` markers are;
`find_secrets(text)` returns the findings (kind and position, never the value). See
docs/secrets.md for the rules, the policy per kind and the measurements.
"""

from curation.secrets.detector import Finding, Scrubbed, find_secrets, marker_spans, scrub, scrub_text

__all__ = ["Finding", "Scrubbed", "find_secrets", "marker_spans", "scrub", "scrub_text"]
