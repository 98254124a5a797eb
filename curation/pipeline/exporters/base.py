"""What every exporter shares: the row contract and byte-deterministic JSON lines."""

import json


class Exporter:
    """Turns an Example into one JSONL row: the format's fields plus `split` and `source`."""

    kind = ""

    def fields(self, example) -> dict:
        raise NotImplementedError

    def row(self, example) -> dict:
        return {**self.fields(example), "split": example.split, "source": example.source}

    def line(self, example) -> bytes:
        """One JSON line; sorted keys and fixed separators make the bytes reproducible."""
        text = json.dumps(self.row(example), sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
        return text.encode() + b"\n"
