import json

import pytest

from curation.pipeline.secrets import scrub_text
from curation.services.datasets import run_build, start_build
from jobs.models import JobStatus
from tests.curation.factories import make_commit_example, make_conversation, make_lesson

# kind -> (text containing the secret, the secret itself)
SECRETS = {
    "private_key": ("+-----BEGIN RSA PRIVATE KEY-----\n+MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n"
                    "+-----END RSA PRIVATE KEY-----\n", "MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo"),
    "aws_access_key": ("aws_access_key_id = AKIAIOSFODNN7EXAMPLF", "AKIAIOSFODNN7EXAMPLF"),
    "aws_secret_key": ("aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ",
                       "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ"),
    "gcp_api_key": ("key=AIzaSyA1234567890abcdefghijklmnopqrstuv", "AIzaSyA1234567890abcdefghijklmnopqrstuv"),
    "gcp_service_account": ('{"private_key_id": "0123456789abcdef0123456789abcdef01234567"}',
                            "0123456789abcdef0123456789abcdef01234567"),
    "azure_key": ("Endpoint=https;AccountName=acct;AccountKey=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy==",
                  "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy"),
    "github_token": ("token ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"),
    "gitlab_token": ("GITLAB=glpat-AbCdEfGhIjKlMnOpQrSt12", "glpat-AbCdEfGhIjKlMnOpQrSt12"),
    "slack_token": ("slack xoxb-1234567890-0987654321-AbCdEfGhIjKl", "xoxb-1234567890-0987654321-AbCdEfGhIjKl"),
    "stripe_key": ("stripe.api_key = sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    "jwt": ("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    "academy_token": ("curl -H 'Authorization: Bearer aca_Zx81kLmN0pQrStUvWx' ...", "aca_Zx81kLmN0pQrStUvWx"),
    "url_password": ("DATABASE=postgres://app:Sup3rS3cret@db:5432/app", "Sup3rS3cret"),
    "env_secret": ("+export OPENAI_API_KEY=abcDEF123456ghiJKL", "abcDEF123456ghiJKL"),
    "password": ('+    "passwd": "hunter2hunter2",', "hunter2hunter2"),
}


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_each_secret_kind_is_redacted_and_counted(kind):
    text, secret = SECRETS[kind]
    clean, found = scrub_text(f"before\n{text}\nafter")
    assert secret not in clean
    assert f"[REDACTED:{kind}]" in clean
    assert found[kind] >= 1
    assert clean.startswith("before\n") and clean.endswith("after")


@pytest.mark.parametrize("code", ["password = request.POST.get('x')", "password=get_password()",
                                  "reset the password cache", "DB_HOST=localhost", "tokens = tokenize(text)"])
def test_code_without_secrets_is_left_alone(code):
    assert scrub_text(code) == (code, {})


def test_an_unterminated_private_key_is_redacted_to_the_end():
    clean, _ = scrub_text("key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nmore")
    assert "b3BlbnNzaC1rZXktdjEAAAAA" not in clean and "more" not in clean


def _diff_with(text):
    return f"diff --git a/settings.py b/settings.py\n--- a/settings.py\n+++ b/settings.py\n@@ -1 +1,2 @@\n+{text}\n"


def _make_records():
    items = list(SECRETS.items())
    for index, (kind, (text, _)) in enumerate(items):
        if index % 3 == 0:
            make_lesson(f"Configured the {kind} integration for the deploy job", f"Set it up:\n{text}")
        elif index % 3 == 1:
            make_commit_example(message=f"chore: configure {kind} for the deploy job", diff=_diff_with(text))
        else:
            make_conversation([{"role": "user", "content": f"Wire {kind} into the pipeline please"},
                               {"role": "assistant", "content": f"Done, I used:\n{text}"}])


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["alpaca", "messages"])
def test_no_secret_reaches_the_dataset_file_in_redact_mode(settings, fmt):
    _make_records()
    build = start_build(None, name="s", format=fmt, overrides={"secrets_mode": "redact"}, queue=False)
    build = run_build(build.pk)
    assert build.status == JobStatus.SUCCEEDED, build.error
    content = (settings.DATA_DIR / build.snapshot.path).read_text()
    for kind, (_, secret) in SECRETS.items():
        assert secret not in content, kind
    assert build.snapshot.row_count == len(SECRETS)
    assert set(build.snapshot.stats["secrets_found"]) == set(SECRETS)
    secrets_stage = next(s for s in build.funnel if s["stage"] == "secrets")
    assert set(secrets_stage["found"]) == set(SECRETS)
    assert secret not in json.dumps(build.funnel)


@pytest.mark.django_db
def test_drop_mode_removes_examples_with_secrets(settings):
    _make_records()
    clean = make_lesson("Rotated the logs of the web server nightly", "Added a logrotate rule for nginx.")
    build = run_build(start_build(None, name="s", format="sharegpt", overrides={"secrets_mode": "drop"},
                                  queue=False).pk)
    lines = (settings.DATA_DIR / build.snapshot.path).read_text().splitlines()
    assert [json.loads(line)["source"]["id"] for line in lines] == [clean.pk]
    stage = next(s for s in build.funnel if s["stage"] == "secrets")
    assert stage["dropped"] == len(SECRETS)
    for sample in stage["samples"]:
        assert "[REDACTED:" in sample["text"]
        assert not any(secret in sample["text"] for _, secret in SECRETS.values())


@pytest.mark.django_db
def test_samples_of_examples_dropped_before_scrubbing_never_show_secrets():
    make_lesson("Deployed with the key", "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", result="❌ failed")
    make_lesson()
    build = run_build(start_build(None, name="s", format="alpaca", queue=False).pk)
    assert "ghp_A1b2" not in json.dumps(build.funnel)
