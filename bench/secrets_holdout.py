# ruff: noqa: E501  (whole sentences)
"""A held-out set for the secret detectors: written after the rules were settled and never
used to tune them, so its figures are not in-sample like the test corpus's. Every value is
made up. Same shape as tests/curation/secrets_corpus.py: SECRETS (kind, text, secret), BENIGN.

    .venv/bin/python bench/secrets_holdout.py
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SECRETS = [
    ("openai_key", "Had to rotate sk-proj-9hG2kLmQ4rT7vXz1bN3cD5fH8jK0pW6yU4sA2eR after it showed up in the CI log.", "sk-proj-9hG2kLmQ4rT7vXz1bN3cD5fH8jK0pW6yU4sA2eR"),
    ("anthropic_key", "Used key sk-ant-api03-Rt5Yh8Jk2Lm4Np7Qs9Uv1Wx3Za6Bc0De_fG-hIjKlMnOpQrStAA for the batch job.", "sk-ant-api03-Rt5Yh8Jk2Lm4Np7Qs9Uv1Wx3Za6Bc0De_fG-hIjKlMnOpQrStAA"),
    ("huggingface_token", "export HUGGING_FACE_HUB_TOKEN=hf_PlMoKnIjBuHvYgTfCrDxEsZwAqPlMoKnIjBu", "hf_PlMoKnIjBuHvYgTfCrDxEsZwAqPlMoKnIjBu"),
    ("github_token", "The workflow used GITHUB_TOKEN=ghs_9Zy8Xw7Vu6Ts5Rq4Po3Nm2Lk1Ji0HgFeDcBa98 to push tags.", "ghs_9Zy8Xw7Vu6Ts5Rq4Po3Nm2Lk1Ji0HgFeDcBa98"),
    ("password", "Connected with psql -h db -U app --password=Wint3r!sComing", "Wint3r!sComing"),
    ("password", "redis-cli -a 'R3dis#Pass' ping returned PONG", "R3dis#Pass"),
    ("password", "The vault root password was Qq9-Zz8-Yy7 before I rotated it.", "Qq9-Zz8-Yy7"),
    ("env_secret", "In .env: MYSQL_ROOT_PASSWORD=Sql-R00t-2026", "Sql-R00t-2026"),
    ("env_secret", "STRIPE_WEBHOOK_SECRET=whsec_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56", "whsec_Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56"),
    ("secret", "config.yaml had `api_key: 8f7E6d5C4b3A2f1E0d9C8b7A` in plain text", "8f7E6d5C4b3A2f1E0d9C8b7A"),
    ("secret", "headers = {\"X-Auth-Token\": \"Tk-4f9a8B7c6D5e4F3a2B1c\"}", "Tk-4f9a8B7c6D5e4F3a2B1c"),
    ("auth_header", "wget --header='Authorization: Bearer Zq8Xw7Cv6Bn5Mm4Ll3Kk2Jj1' https://files.internal/dump.sql", "Zq8Xw7Cv6Bn5Mm4Ll3Kk2Jj1"),
    ("url_password", "git remote set-url origin https://deploy:Gh-D3ploy-Pass@git.example.org/team/app.git", "Gh-D3ploy-Pass"),
    ("url_password", "AMQP_URL=amqp://guest:Rabb1tMQ-S3cret@mq:5672/", "Rabb1tMQ-S3cret"),
    ("slack_token", "SLACK_TOKEN=xoxp-1234567890-1234567890-1234567890-abcdef0123456789abcdef0123456789", "xoxp-1234567890-1234567890-1234567890-abcdef0123456789abcdef0123456789"),
    ("aws_access_key", "Found AKIAW5XYZ7ABCDEFGH2J in an old terraform.tfvars", "AKIAW5XYZ7ABCDEFGH2J"),
    ("private_key", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oyWnQKUG9ovpoAoGCCqGSM49\n-----END EC PRIVATE KEY-----", "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oyWnQKUG9ovpoAoGCCqGSM49"),
    ("jwt", "Debugging the 403, the token was eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib3QiLCJleHAiOjE5MDB9.Sig0nature-Xk2Lm9Np2Qr7", "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib3QiLCJleHAiOjE5MDB9.Sig0nature-Xk2Lm9Np2Qr7"),
    ("stripe_key", "Charged the test card with rk_live_51Qw2Er3Ty4Ui5Op6As7Df8Gh", "rk_live_51Qw2Er3Ty4Ui5Op6As7Df8Gh"),
    ("npm_token", "NPM_TOKEN=npm_Zx9Cv8Bn7Mq6Wl5Ek4Rj3Th2Yg1Uf0Id9Os8 in the publish job", "npm_Zx9Cv8Bn7Mq6Wl5Ek4Rj3Th2Yg1Uf0Id9Os8"),
    ("password", "my sudo password is Tr1cky#One", "Tr1cky#One"),
    ("secret", "the webhook secret is 7Gh2Jk9Lm4Np8Qr3St6V, keep it out of the repo", "7Gh2Jk9Lm4Np8Qr3St6V"),
    ("password", "docker login -u ci -p Dckr-Pass-77 registry.internal", "Dckr-Pass-77"),
    ("secret", "kubectl create secret generic api --from-literal=token=Kx7Lm2Np9Qr4St8Uv", "Kx7Lm2Np9Qr4St8Uv"),
    ("gitlab_token", "CI_JOB_TOKEN would not work so I used glpat-Zz9Yy8Xx7Ww6Vv5Uu4Tt instead", "glpat-Zz9Yy8Xx7Ww6Vv5Uu4Tt"),
]

BENIGN = [
    "Moved the password strength meter below the input.",
    "The token limit for the model is max_new_tokens=256.",
    "Rotate the API key every 90 days (see the runbook).",
    "secret_key_rotation_days = 30",
    "We store only the bcrypt hash of each password.",
    "git checkout 4e1f0c2b9a7d and rerun the bisect.",
    "The build id is 9b2f6c1e-3d4a-4b5c-8d6e-7f8091a2b3c4.",
    "checksum: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
    "export GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}",
    "password = os.getenv('DB_PASSWORD')",
    "Set token_expiry to 15 minutes and refresh tokens to 7 days.",
    "The JWT header carries the key id, never the key.",
    "Use the secret manager instead of env files.",
    "The auth middleware now checks the session first.",
    "keyboard shortcuts: press k to approve",
    "def rotate(secret: bytes) -> bytes:",
    "Our tokenizer adds a BOS token at the start of each prompt.",
    "The password field is masked in the admin.",
    "credentials.json is listed in .gitignore",
    "API keys are shown once, then only their prefix.",
    "Run docker login with --password-stdin from the CI secret.",
    "The commit a3f9e2c1 removed the hard-coded secret.",
    "Bearer tokens are checked by the accounts middleware.",
    "pg_dump --no-password -h db app > app.sql",
    "A key insight: cache the tokenizer between runs.",
]


def main() -> None:
    from secrets_detectors import DetectSecrets, gitleaks, ours

    import tests.curation.secrets_corpus as corpus

    corpus.SECRETS, corpus.BENIGN = SECRETS, BENIGN  # evaluate() reads the module's lists
    report = {}
    for name, find in (("academy", ours), ("detect-secrets", DetectSecrets()), ("gitleaks rules", gitleaks)):
        result = corpus.evaluate(find)
        report[name] = {key: result[key] for key in ("recall", "precision", "benign_touched", "cases", "benign")}
        report[name]["missed"] = [f"{kind}: {text[:60]}" for kind, text, secret in SECRETS
                                  if not _covered(find(text), text.index(secret), text.index(secret) + len(secret))]
        report[name]["touched"] = [text[:60] for text in BENIGN if find(text)]
    print(json.dumps(report, indent=2))


def _covered(findings, start: int, end: int) -> bool:
    covered = set()
    for _, s, e in findings:
        covered.update(range(max(s, start), min(e, end)))
    return len(covered) == end - start


if __name__ == "__main__":
    main()
