"""Stage 1's vocabulary: the source names a build may choose and how a record becomes an `Example`.

Mapping (documented in docs/curation-datasets.md):
- lesson: instruction = situation, output = action. The result is kept as `outcome` for
  the failed-outcome filter but not trained on: it describes what happened after the
  action, which the model cannot know when it answers.
- commit: instruction = COMMIT_INSTRUCTION, input = diff, output = message.
- conversation: its turns as stored; a failed conversation gets outcome "failed".

The database readers that apply this mapping live in `curation.services.sources`; the pipeline
itself never touches the ORM.
"""

SOURCES = ("lessons", "commits", "conversations")
COMMIT_INSTRUCTION = "Write a commit message for this diff."
CHAT_ROLES = ("system", "user", "assistant")


def well_formed_turns(messages) -> list[dict]:
    """Keep well-formed turns only; a malformed message becomes empty and is filtered out later."""
    turns = []
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict) and message.get("role") in CHAT_ROLES:
            turns.append({"role": message["role"], "content": str(message.get("content") or "")})
    return turns
