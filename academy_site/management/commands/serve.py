import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Academy (pages, websockets and, in embedded mode, background jobs) with uvicorn."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, **options):
        mode = settings.ACADEMY_MODE
        worker = "with the embedded worker" if settings.EMBEDDED_WORKER else "without a worker"
        self.stdout.write(f"Academy ({mode} mode, {worker}) on http://{options['host']}:{options['port']}/")
        uvicorn.run(
            "academy_site.asgi:application",
            host=options["host"],
            port=options["port"],
            lifespan="on",
            log_level="warning",
            proxy_headers=True,
        )
