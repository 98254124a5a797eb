# ruff: noqa: E501  (corpus lines are whole sentences)
"""A labelled corpus for the secret detector: credentials the way an agent writes them down,
and ordinary engineering text that looks like them. Every value here is made up.

SECRETS: (kind, text, the secret that must disappear). BENIGN: text that must pass untouched.
Used by tests/curation/test_secrets_corpus.py and bench/secrets_detectors.py.
"""


SECRETS: list[tuple[str, str, str]] = [
    # OpenAI, Anthropic, Hugging Face
    ("openai_key", "Set OPENAI_API_KEY to sk-proj-Xq3vR8tLmN2pK7wZ9aB4cD6eF1gH5jY0uI3oP8sT2 before running the eval.",
     "sk-proj-Xq3vR8tLmN2pK7wZ9aB4cD6eF1gH5jY0uI3oP8sT2"),
    ("openai_key", "client = OpenAI(api_key=\"sk-4fG7hJ2kL9mN3pQ6rS8tU1vW5xY0zA2bC4dE6fG8hJ0kL\")",
     "sk-4fG7hJ2kL9mN3pQ6rS8tU1vW5xY0zA2bC4dE6fG8hJ0kL"),
    ("openai_key", "The key that finally worked was sk-svcacct-Tz8Yx7Wv6Ut5Sr4Qp3On2Ml1Kj0Ih9Gf8Ed7Cb6 (service account).",
     "sk-svcacct-Tz8Yx7Wv6Ut5Sr4Qp3On2Ml1Kj0Ih9Gf8Ed7Cb6"),
    ("anthropic_key", "Claude calls failed until I exported ANTHROPIC_API_KEY=sk-ant-api03-Zq9Xw8Ve7Ur6Ts5Rq4Po3Nm2Lk1Ji0Hg_f-8ed7cb6AA",
     "sk-ant-api03-Zq9Xw8Ve7Ur6Ts5Rq4Po3Nm2Lk1Ji0Hg_f-8ed7cb6AA"),
    ("anthropic_key", "anthropic.Anthropic(api_key='sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-abcdEFGH')",
     "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-abcdEFGH"),
    ("huggingface_token", "Logged in with huggingface-cli login --token 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 so the gated model downloads.",
     "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"),
    ("huggingface_token", "HF_TOKEN=hf_aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH9 in .env fixed the 401.",
     "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH9"),
    # cloud providers
    ("aws_access_key", "aws_access_key_id = AKIAQ3EGUTKZ7LMNP4RS", "AKIAQ3EGUTKZ7LMNP4RS"),
    ("aws_secret_key", "Then ran aws configure set aws_secret_access_key Tq8/Xr2Lm9Kp4Wz7Ab3Cd5Ef1Gh6Jk0Mn2Pq4Rs8T and it worked.",
     "Tq8/Xr2Lm9Kp4Wz7Ab3Cd5Ef1Gh6Jk0Mn2Pq4Rs8T"),
    ("aws_secret_key", "AWS_SECRET_ACCESS_KEY=Zx9Cv8Bn7Mq6Wl5Ek4Rj3Th2Yg1Uf0Id9Os8Pa7S", "Zx9Cv8Bn7Mq6Wl5Ek4Rj3Th2Yg1Uf0Id9Os8Pa7S"),
    ("gcp_api_key", "The Maps call needs key=AIzaSyD4fG7hJ2kL9mN3pQ6rS8tU1vW5xY0zA2b in the query string.",
     "AIzaSyD4fG7hJ2kL9mN3pQ6rS8tU1vW5xY0zA2b"),
    ("azure_key", "DefaultEndpointsProtocol=https;AccountName=logs;AccountKey=Qm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyMTIz==;",
     "Qm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyMTIz"),
    # code hosts and CI
    ("github_token", "git clone https://x-access-token:ghp_R4nD0mT0k3nV4lu3F0rT3st1ngPurp0s3sXy@github.com/org/repo",
     "ghp_R4nD0mT0k3nV4lu3F0rT3st1ngPurp0s3sXy"),
    ("github_token", "GH_TOKEN was github_pat_11ABCDEFG0123456789_abcdefghijKLMNOPQRSTuvwxyz0123456789ABCDEFGHIJKLMNOP",
     "github_pat_11ABCDEFG0123456789_abcdefghijKLMNOPQRSTuvwxyz0123456789ABCDEFGHIJKLMNOP"),
    ("gitlab_token", "I pushed with glpat-Xy7Zw8Vu9Ts0Rq1Po2Nm and the pipeline started.", "glpat-Xy7Zw8Vu9Ts0Rq1Po2Nm"),
    ("npm_token", "//registry.npmjs.org/:_authToken=npm_Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2",
     "npm_Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2"),
    ("pypi_token", "twine upload -u __token__ -p pypi-AgEIcHlwaS5vcmcCJDk4ZjNhYjEyLTAwMTEtNDg2Ni1hYmNkLWVmMDEyMzQ1Njc4OQACKlsz",
     "pypi-AgEIcHlwaS5vcmcCJDk4ZjNhYjEyLTAwMTEtNDg2Ni1hYmNkLWVmMDEyMzQ1Njc4OQACKlsz"),
    ("docker_token", "echo dckr_pat_Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St | docker login -u deploy --password-stdin",
     "dckr_pat_Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St"),
    # chat, payments, mail
    ("slack_token", "The bot posts with xoxb-2345678901-3456789012-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8.",
     "xoxb-2345678901-3456789012-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8"),
    ("slack_token", "Alerts go to https://hooks.slack.com/services/T0ABCDEF1/B0GHIJKL2/Xy9Zw8Vu7Ts6Rq5Po4Nm3Lk2J",
     "T0ABCDEF1/B0GHIJKL2/Xy9Zw8Vu7Ts6Rq5Po4Nm3Lk2J"),
    ("stripe_key", "stripe.api_key = \"sk_live_51Hx9Yz8Wv7Ut6Sr5Qp4On3Ml2Kj1\"", "sk_live_51Hx9Yz8Wv7Ut6Sr5Qp4On3Ml2Kj1"),
    ("sendgrid_key", "SENDGRID_API_KEY=SG.Ab1Cd2Ef3Gh4Ij5Kl6Mn7O.Pq8Rs9Tu0Vw1Xy2Za3Bc4De5Fg6Hi7Jk8Lm9No0Pq1Rs2Tu3",
     "SG.Ab1Cd2Ef3Gh4Ij5Kl6Mn7O.Pq8Rs9Tu0Vw1Xy2Za3Bc4De5Fg6Hi7Jk8Lm9No0Pq1Rs2Tu3"),
    ("sendgrid_key", "I switched the mailer to SG.q1W2e3R4t5Y6u7I8o9P0aS.dF4gH5jK6lZ7xC8vB9nM0qW1eR2tY3uI4oP5aS6dF7gH8",
     "SG.q1W2e3R4t5Y6u7I8o9P0aS.dF4gH5jK6lZ7xC8vB9nM0qW1eR2tY3uI4oP5aS6dF7gH8"),
    ("telegram_bot_token", "The bot answers once it runs with 6123456789:AAHk3Lm9Np2Qr7St4Uv8Wx1Yz5Ab0Cd6Ef3",
     "6123456789:AAHk3Lm9Np2Qr7St4Uv8Wx1Yz5Ab0Cd6Ef3"),
    ("telegram_bot_token", "curl https://api.telegram.org/bot7012345678:AAF9xYz8WvU7tS6rQ5pO4nM3lK2jI1hG0fE/getMe",
     "7012345678:AAF9xYz8WvU7tS6rQ5pO4nM3lK2jI1hG0fE"),
    # structured tokens and keys
    ("jwt", "The session cookie was eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiIsInJvbGUiOiJhZG1pbiJ9.Xk2Lm9Np2Qr7St4Uv8Wx1Yz5Ab0Cd6",
     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiIsInJvbGUiOiJhZG1pbiJ9.Xk2Lm9Np2Qr7St4Uv8Wx1Yz5Ab0Cd6"),
    ("private_key", "Saved the deploy key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
                    "-----END OPENSSH PRIVATE KEY-----\nand restarted ssh.",
     "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"),
    ("private_key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1x2y3z4w5v6u7t8s9r0q\n(the rest was cut off)",
     "MIIEowIBAAKCAQEA1x2y3z4w5v6u7t8s9r0q"),
    ("academy_token", "The agent pushes lessons with Authorization: Bearer aca_Zx81kLmN0pQrStUvWxYz12",
     "aca_Zx81kLmN0pQrStUvWxYz12"),
    # headers and shell flags
    ("auth_header", "curl -H \"Authorization: Bearer 9f8E7d6C5b4A3f2E1d0C9b8A7f6E5d4C\" https://api.internal/v1/jobs",
     "9f8E7d6C5b4A3f2E1d0C9b8A7f6E5d4C"),
    ("auth_header", "requests.get(url, headers={\"Authorization\": \"Token 7Hq2Lm8Np3Qr9St4Uv1Wx6Yz\"})",
     "7Hq2Lm8Np3Qr9St4Uv1Wx6Yz"),
    ("auth_header", "The proxy wants Authorization: Basic YWRtaW46czNjcjN0UGFzcw== on every call.", "YWRtaW46czNjcjN0UGFzcw=="),
    ("auth_header", "I passed the bearer token Kq7Wm2Xr9Lp4Zt8Nv3Bc6Dh1 and the API answered 200.", "Kq7Wm2Xr9Lp4Zt8Nv3Bc6Dh1"),
    ("auth_header", "curl -H 'X-Api-Key: f7Gh2Jk9Lm4Np8Qr3St6Vw1Xz' https://metrics.example.net/ingest", "f7Gh2Jk9Lm4Np8Qr3St6Vw1Xz"),
    ("password", "mysql -u root -pW1nter2024! -h db.internal shop", "W1nter2024!"),
    ("password", "mysqldump --user=backup --password=B4ckupS3cret shop > shop.sql", "B4ckupS3cret"),
    ("password", "curl -u deploy:Tr0ub4dor3 https://ci.internal/job/build", "Tr0ub4dor3"),
    ("url_password", "psql \"postgresql://app:Pg-Pa55word@db:5432/app\" -c 'select 1'", "Pg-Pa55word"),
    ("url_password", "CELERY_BROKER_URL=redis://:R3d1sS3cret@cache:6379/0", "R3d1sS3cret"),
    ("url_password", "the mirror is at https://ci-bot:Mirr0rPass99@git.internal/org/repo.git", "Mirr0rPass99"),
    ("password", "sshpass -p 'Sup3r-S3cret' ssh admin@10.0.0.5", "Sup3r-S3cret"),
    ("password", "docker login -u ci -p Dckr-Pass-77 registry.internal", "Dckr-Pass-77"),
    ("password", "redis-cli -h cache -a 'R3dis#Pass' ping", "R3dis#Pass"),
    ("url_password", "git remote set-url origin https://deploy:Gh-D3ploy-Pass@git.example.org/team/app.git", "Gh-D3ploy-Pass"),
    ("secret", "terraform apply -var token=Tf9Xk2Lm7Np4Qr8St", "Tf9Xk2Lm7Np4Qr8St"),
    ("secret", "gh auth login --with-token; then ./deploy.sh --api-key Kx8Lm3Np9Qr2St7Uv", "Kx8Lm3Np9Qr2St7Uv"),
    # env files, mid-sentence env, compose, YAML, JSON, code
    ("env_secret", "I set POSTGRES_PASSWORD=pgAdm1nPass in the compose file and the container came up.", "pgAdm1nPass"),
    ("env_secret", "export DJANGO_SECRET_KEY=k8#x!v2@m9$q7&z4p1r6 && ./manage.py check", "k8#x!v2@m9$q7&z4p1r6"),
    ("env_secret", "+REDIS_PASSWORD=cache-Pass-2024\n+REDIS_HOST=cache", "cache-Pass-2024"),
    ("env_secret", "The failing job had DATABASE_PASSWORD=hunter2hunter2 hard-coded in ci.yml.", "hunter2hunter2"),
    ("password", "{\"db_password\": \"Qw3rty!Zx\", \"db_host\": \"db\"}", "Qw3rty!Zx"),
    ("password", "database:\n  host: db\n  password: Yaml-S3cret-99\n", "Yaml-S3cret-99"),
    ("password", "conn = psycopg.connect(host=\"db\", password=\"c0nn-Pa55\")", "c0nn-Pa55"),
    ("password", "smtp:\n  user: mailer\n  pass: 'M4ilerPass'", "M4ilerPass"),
    ("secret", "{\"client_secret\": \"9aB8cD7eF6gH5iJ4kL3mN2oP\", \"client_id\": \"web\"}", "9aB8cD7eF6gH5iJ4kL3mN2oP"),
    ("env_secret", "settings.py: SLACK_SIGNING_SECRET = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6'", "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"),
    ("secret", "api_token: Zr4Xs9Ct2Dv7Ew1Fx5 # staging", "Zr4Xs9Ct2Dv7Ew1Fx5"),
    ("secret", "const apiKey = \"pk9Xm2Ln7Ko3Jp8Iq4Hr\";", "pk9Xm2Ln7Ko3Jp8Iq4Hr"),
    ("high_entropy", "<add key=\"ApiSecret\" value=\"Vx7Wy2Zz9Aa4Bb8Cc3\" />", "Vx7Wy2Zz9Aa4Bb8Cc3"),
    # prose
    ("password", "the admin password is hunter2", "hunter2"),
    ("password", "FYI the password for the staging db is Tr0pical-Fish, please rotate it later.", "Tr0pical-Fish"),
    ("password", "Logged in to Grafana with password Gr4fana!Adm1n and added the dashboard.", "Gr4fana!Adm1n"),
    ("password", "The root password was changed to Xk9!mP2#vL yesterday.", "Xk9!mP2#vL"),
    ("password", "Wi-Fi passphrase is CoffeeBeans4Everyone", "CoffeeBeans4Everyone"),
    ("secret", "The API key is 3xAmPl3K3yV4lu3Zq9 and it expires on Friday.", "3xAmPl3K3yV4lu3Zq9"),
    ("secret", "our access token was Lq2Wm8Xr3Zt9Np4Kv so I reused it", "Lq2Wm8Xr3Zt9Np4Kv"),
    ("high_entropy", "Stored the webhook secret (Xk2Lm9Np2Qr7St4Uv8Wx1Yz5Ab0Cd6Ef) in the vault too.", "Xk2Lm9Np2Qr7St4Uv8Wx1Yz5Ab0Cd6Ef"),
    ("high_entropy", "Rotated credentials; new one: a9F3kL0pQ7xZ2mN8vB4cD1eR6tY5uI", "a9F3kL0pQ7xZ2mN8vB4cD1eR6tY5uI"),
    # values holding a placeholder word inside another word (here, where, ever...)
    ("env_secret", "DB_PASSWORD=Sphere$Moon42", "Sphere$Moon42"),
    ("password", "password: Everywhere#2024", "Everywhere#2024"),
    ("url_password", "CACHE_URL is redis://:Thereafter77@cache:6379/0 on staging", "Thereafter77"),
    ("url_password", "psql postgres://app:Nowhere-99@db.internal/app -c 'select 1'", "Nowhere-99"),
    ("django_secret_key", "SECRET_KEY = 'django-insecure-3x!k9#v@q2m$7zr^w8p&l4n*t6y+u0s1a5e_d(h)j-f=g'",
     "django-insecure-3x!k9#v@q2m$7zr^w8p&l4n*t6y+u0s1a5e_d(h)j-f=g"),
    ("django_secret_key", "startproject wrote django-insecure-q8#t1z@u5m!x0c^k3v&w7b(e2n)r9j+y4h-s6f=a into settings",
     "django-insecure-q8#t1z@u5m!x0c^k3v&w7b(e2n)r9j+y4h-s6f=a"),
    # prose in other languages
    ("password", "Zur Info: das Passwort ist Xy7#kLm2q, bitte nicht weitergeben.", "Xy7#kLm2q"),
    ("password", "Das Kennwort für den Testserver lautet: „Qw3rT!zU8o“", "Qw3rT!zU8o"),
    ("password", "Le mot de passe de l'admin est : Mz4&pLo9Kq", "Mz4&pLo9Kq"),
    ("password", "La contraseña de la base de datos es Bd8#Xq2Lm7.", "Bd8#Xq2Lm7"),
    ("password", "Пароль от сервера — Ru5!kPl0Zx, смени его потом", "Ru5!kPl0Zx"),
    ("password", "пароль: Vk2$Lm8Nq4", "Vk2$Lm8Nq4"),
    ("password", "数据库的密码是Cn7#Pw2Kx9，请勿外传", "Cn7#Pw2Kx9"),
    ("password", "测试账号 admin，密码：Zh3@Mm8Lq1", "Zh3@Mm8Lq1"),
    ("password", "本番のパスワードは「Jp4!Tk9Wq2」です", "Jp4!Tk9Wq2"),
    # webhooks and netrc
    ("discord_webhook", "Alerts post to https://discord.com/api/webhooks/1187654321098765432/Xk2Lm9Np2Qr7St4Uv8Wx1Yz5Ab0Cd6EfGh3Ij8Kl1Mn6Op0Qr5St9Uv2Wx7Yz4Ab1Cd8Ef now",
     "https://discord.com/api/webhooks/1187654321098765432/Xk2Lm9Np2Qr7St4Uv8Wx1Yz5Ab0Cd6EfGh3Ij8Kl1Mn6Op0Qr5St9Uv2Wx7Yz4Ab1Cd8Ef"),
    ("discord_webhook", "WEBHOOK = \"https://discordapp.com/api/webhooks/998877665544332211/aB3_cD4-eF5gH6iJ7kL8mN9oP0qR1sT2uV3wX4yZ5aB6cD7eF8gH9iJ0kL1mN2oP3q\"",
     "https://discordapp.com/api/webhooks/998877665544332211/aB3_cD4-eF5gH6iJ7kL8mN9oP0qR1sT2uV3wX4yZ5aB6cD7eF8gH9iJ0kL1mN2oP3q"),
    ("password", "~/.netrc: machine api.heroku.com login ops@example.com password 9f8e7d6c5b4a39281706f5e4d3c2b1a0",
     "9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
    ("password", "machine git.internal\n  login deploy\n  password Tr0ub4dor&3\n", "Tr0ub4dor&3"),
]

BENIGN: list[str] = [
    "Implemented the password reset flow with a signed, expiring link.",
    "Added a token bucket rate limiter in front of the public API.",
    "Fixed in commit 3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39 after the review.",
    "The run id is 123e4567-e89b-12d3-a456-426614174000.",
    "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  dataset.jsonl",
    "response = client.chat.completions.create(model=model, max_tokens=512)",
    "The secret to fast builds is a warm cache.",
    "password = request.POST.get('password')",
    "password=get_password()",
    "Reset the password cache after the migration.",
    "DB_HOST=localhost",
    "tokens = tokenize(text)",
    "num_tokens = len(tokens)",
    "SECRET_KEY = env_secret(\"SECRET_KEY\")",
    "api_key = os.environ[\"OPENAI_API_KEY\"]",
    "password: ${DB_PASSWORD}",
    "POSTGRES_PASSWORD=$POSTGRES_PASSWORD",
    "auth_token: \"{{ vault_auth_token }}\"",
    "def login(username: str, password: str) -> bool:",
    "token: str | None = None",
    "The tokenizer splits on whitespace and counts tokens per second.",
    "Use `--password-stdin` so the password never shows in the process list.",
    "mysql -u root -p shop (it prompts for the password)",
    "mkdir -p build/artifacts && cp -r dist build/",
    "git log --author=alice -p --since=2.weeks",
    "The author: Jane Doe, reviewed by the auth team.",
    "primary_key=True, unique=True",
    "The key is to keep each migration small.",
    "The password is required and must be at least 12 characters.",
    "The token is expired; the client asks for a new one.",
    "Authorization: Bearer <token>",
    "curl -H \"Authorization: Bearer $TOKEN\" https://api.example.com",
    "postgres://user:password@localhost/db is the example URL in the docs.",
    "Image digest sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    "max_token_length = 4096",
    "token_ttl = 3600",
    "password_min_length: 12",
    "secret_name: prod-db-credentials",
    "The CSRF token middleware rejects cross-site posts.",
    "We compared bcrypt and argon2 for password hashing.",
    "The access key rotation job runs weekly.",
    "see_secrets_doc_for_the_rotation_policy_v2 is the anchor name",
    "Bumped numpy to 1.26.4 and torch to 2.13.0.",
    "Set learning_rate=0.0002, lora_rank=16 and batch_size=8.",
    "The commit 9fceb02 fixed the flaky test.",
    "export PATH=/usr/local/bin:$PATH",
    "The trainer writes checkpoints/step-40/adapter_model.safetensors",
    "Hash of the config: 5d41402abc4b2a76b9719d911017c592",
    "ETag: \"33a64df551425fcc55e4d42a148795d9f25f89d4\"",
    "The auth flow redirects to /accounts/login/?next=/runs/",
    "Token counts: prompt 1200, completion 300.",
    "secret: true  # marks the field as sensitive in the form",
    "password_validators = [MinimumLengthValidator]",
    "The session key was rotated when the user logged in.",
    "A pass through the whole dataset takes 3 minutes.",
    "The bearer token scheme is described in RFC 6750.",
    "keys = sorted(mapping.keys())",
    "Run `pytest -k secret` to select the secret tests.",
    "Use a password manager and enable two-factor authentication.",
    "the API key must be sent in the X-Api-Key header",
    "Base64 of hello world is aGVsbG8gd29ybGQ=",
    "The Docker image tag is academy/trainer:2026.11.30-cpu",
    "credentials: see the team vault entry 'deploy'",
    "TOKEN_BUCKET_CAPACITY=100",
    "password_reset_timeout = 259200",
    "The model answered with tokens/s = 912.4 on the CPU.",
    "refresh_token_rotation: enabled",
    "Send a password reset link to the user and log the request.",
    "The password field explains what a strong password looks like.",
    "SECRET_KEY = 'django-insecure-change-me-in-production'",
    "password = 'your_password_here'",
    "API_TOKEN=fake-token-for-tests",
    "SECRET_KEY=dev-only-not-a-secret",
    "das Passwort ist zu kurz",
    "Das Passwort ist abgelaufen, bitte ein neues setzen.",
    "Der Passwortmanager ist jetzt Pflicht.",
    "le mot de passe est incorrect",
    "Le mot de passe : ********",
    "la contraseña es incorrecta",
    "Пароль — обязательное поле",
    "密码错误，请重试",
    "パスワードは8文字以上にしてください",
    "machine api.example.com login deploy password PASSWORD",
    "machine api.example.com login deploy password $NETRC_PASSWORD",
    "The machine learning login page has a password reset button.",
    "Webhook URLs look like https://discord.com/api/webhooks/<id>/<token>.",
    "seed_noise: {\"exam\", \"holdout\", \"pass_rate\": per-model SDs of the mean, \"source\": words}",
]


def evaluate(find) -> dict:
    """Score a detector: `find(text)` returns [(kind, start, end)] of what it would redact.

    Recall per labelled kind: share of its cases whose secret is fully covered. Precision
    per reported kind: share of its findings that overlap a labelled secret (any finding on
    a benign text, or away from the secret, is a false positive).
    """
    per_kind: dict[str, dict] = {}
    reported: dict[str, list[int]] = {}
    caught = correct = total_found = 0
    for kind, text, secret in SECRETS:
        s_start = text.index(secret)
        s_end = s_start + len(secret)
        findings = find(text)
        covered = set()
        for found_kind, start, end in findings:
            hit = start < s_end and s_start < end
            covered.update(range(max(start, s_start), min(end, s_end)))
            reported.setdefault(found_kind, [0, 0])
            reported[found_kind][0] += hit
            reported[found_kind][1] += 1
            correct += hit
            total_found += 1
        ok = len(covered) == s_end - s_start
        caught += ok
        stats = per_kind.setdefault(kind, {"cases": 0, "caught": 0})
        stats["cases"] += 1
        stats["caught"] += ok
    benign_touched = 0
    for text in BENIGN:
        findings = find(text)
        benign_touched += bool(findings)
        for found_kind, _, _ in findings:
            reported.setdefault(found_kind, [0, 0])
            reported[found_kind][1] += 1
            total_found += 1
    return {
        "recall": caught / len(SECRETS),
        "precision": correct / total_found if total_found else 1.0,
        "benign_touched": benign_touched,
        "recall_by_kind": {kind: s["caught"] / s["cases"] for kind, s in sorted(per_kind.items())},
        "precision_by_kind": {kind: hits / n for kind, (hits, n) in sorted(reported.items())},
        "cases": len(SECRETS), "benign": len(BENIGN),
    }
