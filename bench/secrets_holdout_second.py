# ruff: noqa: E501  (whole sentences)
"""A second held-out set for the secret detector, written after the placeholder, multilingual,
webhook and netrc rules and before they were run on it (the first run is what docs/benchmarks.md
reports). Every value is made up. Same shape as bench/secrets_holdout.py.

    .venv/bin/python bench/secrets_holdout_second.py
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SECRETS = [
    ("password", "MARIADB_ROOT_PASSWORD: Atmosphere!88 in the compose override", "Atmosphere!88"),
    ("password", "db_password = 'Somewhere_Over_9'", "Somewhere_Over_9"),
    ("url_password", "BROKER=amqp://worker:Elsewhere2Go@rabbit:5672//", "Elsewhere2Go"),
    ("url_password", "mongodb://root:Heresy-Lab7@mongo:27017/admin?authSource=admin", "Heresy-Lab7"),
    ("secret", "client_secret: Fakir0Tz9Qm2Lx", "Fakir0Tz9Qm2Lx"),
    ("django_secret_key", "DJANGO_SECRET_KEY=django-insecure-p0$w9^z!c3x&e7r(m1n)b5v+q8t-y2u_i4o=a6s#d", "django-insecure-p0$w9^z!c3x&e7r(m1n)b5v+q8t-y2u_i4o=a6s#d"),
    ("password", "Das Root-Passwort lautet Gx8!mQ2zLp, bitte nach dem Test ändern.", "Gx8!mQ2zLp"),
    ("password", "Kennwort: Hb4%Tz7qWe", "Hb4%Tz7qWe"),
    ("password", "Pour la recette, le mot de passe du compte de service est Rq6*Lm3xNp.", "Rq6*Lm3xNp"),
    ("password", "mot de passe : Vc9!Kd2sQa", "Vc9!Kd2sQa"),
    ("password", "La contraseña del usuario admin es Ty5#Wq8mZl y caduca el viernes.", "Ty5#Wq8mZl"),
    ("password", "contraseña: Pk2&Xn7vRt", "Pk2&Xn7vRt"),
    ("password", "Пароль для базы: Lq7#Zr3mXv", "Lq7#Zr3mXv"),
    ("password", "Новый пароль — Ws4!Yt8kPc", "Ws4!Yt8kPc"),
    ("password", "服务器登录密码为 Gm5@Hr2xTq，明天更换", "Gm5@Hr2xTq"),
    ("password", "VPN 密码: Qz8!Nw3pLk", "Qz8!Nw3pLk"),
    ("discord_webhook", "post(\"https://discord.com/api/webhooks/1299887766554433221/Qm7-Xr2_Lp9Zt4Wv8Ks1Nb6Hc3Jd0Fg5Ty2Ue7Io4Pa9Sd1Fg6Hj3Kl8Zx5Cv0Bn7Mq2\", json=msg)", "https://discord.com/api/webhooks/1299887766554433221/Qm7-Xr2_Lp9Zt4Wv8Ks1Nb6Hc3Jd0Fg5Ty2Ue7Io4Pa9Sd1Fg6Hj3Kl8Zx5Cv0Bn7Mq2"),
    ("discord_webhook", "The alert hook https://ptb.discord.com/api/v10/webhooks/1122334455667788990/aZ3xC5vB7nM9qW1eR3tY5uI7oP9aS1dF3gH5jK7lZ9xC1vB3nM5qW7eR9tY1uI3o fires on failures", "https://ptb.discord.com/api/v10/webhooks/1122334455667788990/aZ3xC5vB7nM9qW1eR3tY5uI7oP9aS1dF3gH5jK7lZ9xC1vB3nM5qW7eR9tY1uI3o"),
    ("password", "echo 'machine pypi.internal login ci password Ux3$Rk8mWq' >> ~/.netrc", "Ux3$Rk8mWq"),
    ("password", "machine registry.local\nlogin robot\npassword 4c1d9e7f2a8b3c6d5e0f1a2b3c4d5e6f", "4c1d9e7f2a8b3c6d5e0f1a2b3c4d5e6f"),
    ("openai_key", "OPENAI_API_KEY=sk-proj-Lm4Nq8Rt2Vx6Zb0Cd3Fg7Hj1Kl5Mn9Pq2Rs6Tu0Vw4Xy8Za", "sk-proj-Lm4Nq8Rt2Vx6Zb0Cd3Fg7Hj1Kl5Mn9Pq2Rs6Tu0Vw4Xy8Za"),
    ("github_token", "git clone https://x-access-token:ghp_Mn8Bv7Cx6Zl5Kj4Hg3Fd2Sa1Qw0Er9Ty8Ui7@github.com/org/repo", "ghp_Mn8Bv7Cx6Zl5Kj4Hg3Fd2Sa1Qw0Er9Ty8Ui7"),
    ("password", "the staging password was Rv7!Qx2Lm. I changed it afterwards.", "Rv7!Qx2Lm"),
    ("env_secret", "REDIS_PASSWORD=Wherever#31", "Wherever#31"),
    ("secret", "\"apiKey\": \"Yourk3y9Xq2Lm7Wz\"", "Yourk3y9Xq2Lm7Wz"),
    ("password", "psql \"postgresql://report:Hereford-61@warehouse/report\"", "Hereford-61"),
    ("auth_header", "curl -H 'Authorization: Bearer Qk9Wm2Xr7Lp4Zt8Nv3Bc' https://api.internal/v2/runs", "Qk9Wm2Xr7Lp4Zt8Nv3Bc"),
    ("slack_token", "SLACK_WEBHOOK=https://hooks.slack.com/services/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", "https://hooks.slack.com/services/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"),
    ("password", "Le mot de passe Wi-Fi est Cafe2024!Lyon", "Cafe2024!Lyon"),
    ("password", "パスワード：Tk7#Lm2Qx9", "Tk7#Lm2Qx9"),
]

BENIGN = [
    "Das Passwort muss mindestens 12 Zeichen lang sein.",
    "Le mot de passe est stocké sous forme de hachage bcrypt.",
    "La contraseña es obligatoria para los administradores.",
    "Пароль не должен совпадать с логином.",
    "密码长度至少为 12 位",
    "パスワードを忘れた場合はリセットしてください",
    "password: ${{ secrets.DB_PASSWORD }}",
    "SECRET_KEY = 'django-insecure-replace-me-before-deploying'",
    "machine example.com login anonymous password <password>",
    "The webhook URL comes from the DISCORD_WEBHOOK_URL variable.",
    "Document the password reset link expiry (24 h).",
    "db_password = your_db_password_here",
    "API_KEY=example-key-for-docs",
    "token: dummy-token",
    "The sphere of the password policy is the whole org.",
    "We rotate credentials everywhere on the first Monday.",
    "Use the passwordless login for staff accounts.",
    "pass_rate: 0.93 on the exam, fail_rate 0.07",
    "The key ratio is 3:1 for train and eval.",
    "redis://cache:6379/0 has no password on the dev box",
    "machine learning platform login password policy update",
    "Kennwortrichtlinie: mindestens eine Ziffer",
    "the password is stored hashed, never in plain text.",
    "Set DISCORD_WEBHOOK in the environment, never in the repo.",
    "postgres://app@db/app uses peer auth",
]


def main() -> None:
    from secrets_detectors import ours
    from secrets_holdout import _covered

    import tests.curation.secrets_corpus as corpus

    corpus.SECRETS, corpus.BENIGN = SECRETS, BENIGN  # evaluate() reads the module's lists
    result = corpus.evaluate(ours)
    report = {key: result[key] for key in ("recall", "precision", "benign_touched", "cases", "benign")}
    report["missed"] = [f"{kind}: {text[:60]}" for kind, text, secret in SECRETS
                        if not _covered(ours(text), text.index(secret), text.index(secret) + len(secret))]
    report["touched"] = [text[:60] for text in BENIGN if ours(text)]
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
