"""The common in-memory shape every source record is turned into."""

from dataclasses import dataclass, field


@dataclass(slots=True)
class Example:
    """One training example traced back to its source record.

    Single-turn sources (lessons, commits) fill instruction/input/output; conversations
    fill `turns` ([{"role": "system|user|assistant", "content": ...}]). `outcome` is the
    free-text result used by the failed-outcome filter and never exported.
    """

    kind: str  # "lesson" | "commit" | "conversation"
    id: int
    ref: str
    occurred_at: float  # POSIX timestamp: the newest example of a duplicate cluster wins
    instruction: str = ""
    input: str = ""
    output: str = ""
    system: str = ""
    turns: list[dict] = field(default_factory=list)
    outcome: str = ""
    split: str = ""

    @property
    def is_conversation(self) -> bool:
        return bool(self.turns)

    @property
    def source(self) -> dict:
        return {"kind": self.kind, "id": self.id, "ref": self.ref}

    def chat_turns(self) -> list[dict]:
        """Turns for chat formats; single-turn examples become system? + user + assistant."""
        if self.turns:
            return self.turns
        turns = [{"role": "system", "content": self.system}] if self.system else []
        prompt = f"{self.instruction}\n\n{self.input}" if self.input else self.instruction
        turns.append({"role": "user", "content": prompt})
        turns.append({"role": "assistant", "content": self.output})
        return turns

    def prompt_text(self) -> str:
        """Everything the model reads (for length statistics)."""
        return "\n".join(t["content"] for t in self.chat_turns() if t["role"] != "assistant")

    def response_text(self) -> str:
        """Everything the model must write (checked for error markers)."""
        return "\n".join(t["content"] for t in self.chat_turns() if t["role"] == "assistant")

    def text(self) -> str:
        """The whole example as one string (length filters, hashing, dedup)."""
        return "\n".join(t["content"] for t in self.chat_turns())

    def map_text(self, func) -> None:
        """Replace every text field with func(text), in place."""
        self.instruction = func(self.instruction)
        self.input = func(self.input)
        self.output = func(self.output)
        self.system = func(self.system)
        self.outcome = func(self.outcome)
        self.turns = [{**t, "content": func(t["content"])} for t in self.turns]
