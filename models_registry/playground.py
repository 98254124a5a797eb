"""What the line and version pages say about using a model: the /v1 snippets and the playground.

The "Use it" panel gives the absolute /v1 base URL, the model name to send (the line's name:
/v1 always answers with the line's active version) and curl and openai-client snippets that
read the API token from the ACADEMY_TOKEN environment variable, so no secret is pasted into code.

The playground asks any version of the line through views.version_chat, which runs the
/v1 serving code (serving_views.respond) with the same queue and limits.
"""

import json

from django.conf import settings
from django.urls import reverse

from models_registry.models import ModelLine, ModelVersion

QUESTION = "Hello! What can you do?"
MAX_TOKENS = 64
TOKEN_VARIABLE = "ACADEMY_TOKEN"


def base_url(request) -> str:
    """The absolute /v1 base URL as this request reached the server (scheme, host, any prefix)."""
    return request.build_absolute_uri(reverse("serving_models")).removesuffix("/models")


def curl_snippet(url: str, model: str) -> str:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": QUESTION}],
                       "max_tokens": MAX_TOKENS})
    return (f"curl {url}/chat/completions \\\n"
            f'  -H "Authorization: Bearer ${TOKEN_VARIABLE}" \\\n'
            f'  -H "Content-Type: application/json" \\\n'
            f"  -d '{body}'")


def python_snippet(url: str, model: str) -> str:
    return (f"import os\n\nfrom openai import OpenAI\n\n"
            f'client = OpenAI(base_url={json.dumps(url)}, api_key=os.environ["{TOKEN_VARIABLE}"])\n'
            f"answer = client.chat.completions.create(\n"
            f"    model={json.dumps(model)},\n"
            f'    messages=[{{"role": "user", "content": {json.dumps(QUESTION)}}}],\n'
            f"    max_tokens={MAX_TOKENS},\n"
            f")\n"
            f"print(answer.choices[0].message.content)\n"
            f"print(answer.system_fingerprint)  # the version that answered, as line:label\n")


def use_it(request, line: ModelLine, active: ModelVersion | None, version: ModelVersion | None = None) -> dict:
    """The Use it panel's context; `version` is the page's version (None on the line page)."""
    url = base_url(request)
    return {"base_url": url, "model": line.name, "active": active, "version": version,
            "token_variable": TOKEN_VARIABLE, "curl": curl_snippet(url, line.name),
            "python": python_snippet(url, line.name)}


def playground(line: ModelLine, version: ModelVersion) -> dict:
    """The playground's context: every version of the line, this one on the left, the active one beside it."""
    versions = list(line.versions.order_by("-number"))
    active = next((v for v in versions if v.is_active), None)
    beside = active if active is not None and active.pk != version.pk else None
    return {"versions": versions, "columns": [version, beside],
            "max_tokens": min(MAX_TOKENS, settings.SERVING_MAX_TOKENS), "max_tokens_limit": settings.SERVING_MAX_TOKENS}
