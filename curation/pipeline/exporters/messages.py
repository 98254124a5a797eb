"""Chat messages: messages with role = system | user | assistant."""

from curation.pipeline.exporters.base import Exporter


class MessagesExporter(Exporter):
    kind = "messages"

    def fields(self, example) -> dict:
        return {"messages": [{"role": t["role"], "content": t["content"]} for t in example.chat_turns()]}
