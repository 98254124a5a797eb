# ruff: noqa: E501 - the templates are kept exactly as published
"""Published chat templates (tokenizer_config.json "chat_template") kept as test data.

Each entry is the prompt block the trainer would record for that base model.
"""

from training.trainer.prompts import ALPACA_STOP, ALPACA_TEMPLATE
from training.trainer.tiny_base import CHAT_TEMPLATE as TINY_TEMPLATE

# meta-llama/Meta-Llama-3-8B-Instruct
LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' "
    "+ message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

# Qwen/Qwen2.5-*-Instruct (ChatML with a default system prompt and tool branches)
QWEN25 = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

# microsoft/Phi-3-mini-4k-instruct (empty system messages are left out)
PHI3 = (
    "{% for message in messages %}{% if message['role'] == 'system' and message['content'] %}{{'<|system|>\n' + "
    "message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + "
    "'<|end|>\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"
)

# google/gemma-2-*-it (refuses system messages; contents trimmed)
GEMMA2 = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
)

# mistralai/Mistral-7B-Instruct-v0.2 (user/assistant only)
MISTRAL = (
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
)

# mistralai/Mistral-7B-Instruct-v0.3 style: the system prompt goes into the LAST user turn,
# which a per-message Go template cannot place; export must be refused.
MISTRAL_V3_SYSTEM_LAST = (
    "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] %}"
    "{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}"
    "{{- bos_token }}{%- for message in loop_messages %}{%- if message['role'] == 'user' %}"
    "{%- if loop.last and system_message is defined %}{{- '[INST] ' + system_message + '\\n\\n' + message['content'] "
    "+ '[/INST]' }}{%- else %}{{- '[INST] ' + message['content'] + '[/INST]' }}{%- endif %}"
    "{%- elif message['role'] == 'assistant' %}{{- ' ' + message['content']|trim + eos_token}}{%- endif %}"
    "{%- endfor %}"
)


def chat(template, *, bos="", eos="", add_bos=False, stop=()):
    return {"style": "chat_template", "template": template, "bos_token": bos or None, "eos_token": eos,
            "add_bos_token": add_bos, "stop": list(stop) or ([eos] if eos else [])}


PROMPTS = {
    "tiny": chat(TINY_TEMPLATE, bos="<s>", eos="</s>"),
    "llama3": chat(LLAMA3, bos="<|begin_of_text|>", eos="<|eot_id|>", add_bos=True),
    "qwen2.5": chat(QWEN25, eos="<|im_end|>"),
    "phi3": chat(PHI3, bos="<s>", eos="<|endoftext|>", add_bos=True, stop=["<|end|>", "<|endoftext|>"]),
    "gemma2": chat(GEMMA2, bos="<bos>", eos="<eos>", add_bos=True, stop=["<end_of_turn>", "<eos>"]),
    "mistral": chat(MISTRAL, bos="<s>", eos="</s>", add_bos=True),
    "alpaca": {"style": "alpaca", "template": ALPACA_TEMPLATE, "eos_token": "</s>", "stop": ["</s>", ALPACA_STOP],
               "add_bos_token": True, "bos_token": "<s>"},
}


def msg(role, content):
    return {"role": role, "content": content}


CONVERSATIONS = {
    "one turn": [msg("user", "How do I list files?")],
    "system and user": [msg("system", "You are a terse shell expert."), msg("user", "List hidden files.")],
    "multi-turn": [msg("user", "Hi"), msg("assistant", "Hello! How can I help?"), msg("user", "List files."),
                   msg("assistant", "Run `ls -la`."), msg("user", "And only directories?")],
    "empty system message": [msg("system", ""), msg("user", "List files.")],
    "system and multi-turn": [msg("system", "Answer in one line."), msg("user", "Hi"), msg("assistant", "Hello."),
                              msg("user", 'Print {"a": 1} with jq {{ . }}')],
}
