"""ShareGPT: conversations with from = system | human | gpt."""

from curation.pipeline.exporters.base import Exporter

_FROM = {"system": "system", "user": "human", "assistant": "gpt"}


class ShareGPTExporter(Exporter):
    kind = "sharegpt"

    def fields(self, example) -> dict:
        return {"conversations": [{"from": _FROM[t["role"]], "value": t["content"]} for t in example.chat_turns()]}
