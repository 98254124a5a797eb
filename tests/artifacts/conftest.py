from tests.s3_server import s3_store  # noqa: F401 (fixture for the artifact store tests)
