"""Alpaca: instruction, input, output."""

from curation.pipeline.exporters.base import Exporter


class AlpacaExporter(Exporter):
    """Conversations become their last user turn (instruction), the earlier turns as a
    transcript (input) and the last assistant turn (output)."""

    kind = "alpaca"

    def fields(self, example) -> dict:
        if not example.is_conversation:
            return {"instruction": example.instruction, "input": example.input, "output": example.output}
        turns = example.turns
        last_assistant = max((i for i, t in enumerate(turns) if t["role"] == "assistant"), default=len(turns))
        users = [i for i, t in enumerate(turns[:last_assistant]) if t["role"] == "user"]
        last_user = users[-1] if users else 0
        context = "\n\n".join(f"{t['role']}: {t['content']}" for t in turns[:last_user])
        return {
            "instruction": turns[last_user]["content"] if turns else "",
            "input": context,
            "output": turns[last_assistant]["content"] if last_assistant < len(turns) else "",
        }
