"""A python check cannot read, write, connect or outlive its sandbox: real payloads, no effect, bounded return."""

import ctypes.util
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from arena.scoring.sandbox import run_python
from tests.arena.sandbox_support import RETURN_BOUND, Timed, processes_with, require_sandbox

pytestmark = pytest.mark.mode_independent


@pytest.fixture(autouse=True)
def _sandbox():
    require_sandbox()


def _run(code: str, timeout: float = 10):
    with Timed() as timed:
        result = run_python(code, timeout=timeout, memory_mb=256)
    assert timed.seconds < timeout + RETURN_BOUND
    return result


def test_a_check_cannot_read_the_data_folder_the_database_or_etc_passwd():
    secret = Path(settings.DATA_DIR) / "secret.txt"
    secret.write_text("top-secret-value")
    targets = [str(secret), "/etc/passwd", str(settings.DATABASES["default"]["NAME"]), "/proc/1/root/etc/passwd"]
    code = (f"targets = {targets!r}\nread = 0\n"
            "for path in targets:\n"
            "    try:\n        print('READ', path, open(path).read()[:80]); read += 1\n"
            "    except OSError as exc:\n        print('refused', path, type(exc).__name__)\n"
            "assert read == 0\n")

    result = _run(code)

    assert result.passed, result.output
    assert "top-secret-value" not in result.output and "root:" not in result.output
    assert result.output.count("refused") == len(targets)


def test_a_check_cannot_write_outside_its_working_folder():
    target = Path(settings.DATA_DIR) / "written-by-check.txt"
    elsewhere = [str(target), "/written.txt", "/usr/written.txt", "/dev/written.txt", "/check/written.txt"]
    code = (f"paths = {elsewhere!r}\n"
            "for path in paths:\n"
            "    try:\n        open(path, 'w').write('x'); print('WROTE', path)\n"
            "    except OSError as exc:\n        print('refused', path, type(exc).__name__)\n"
            "open('/tmp/scratch.txt', 'w').write('fine')\nprint('scratch', open('/tmp/scratch.txt').read())\n")

    result = _run(code)

    assert result.passed, result.output
    assert "WROTE" not in result.output and result.output.count("refused") == len(elsewhere)
    assert "scratch fine" in result.output  # the working folder itself is writable
    assert not target.exists()


def test_a_check_cannot_run_programs_of_the_host():
    code = ("import os, subprocess\n"
            "for argv in (['/bin/sh', '-c', 'id'], ['cat', '/etc/passwd'], ['/usr/bin/env']):\n"
            "    try:\n        subprocess.run(argv); print('RAN', argv)\n"
            "    except OSError as exc:\n        print('refused', argv[0], type(exc).__name__)\n")

    result = _run(code)

    assert "RAN" not in result.output and result.output.count("refused") == 3, result.output


def test_a_setsid_daemon_dies_with_the_check():
    marker = f"academy-daemon-{uuid.uuid4().hex}"
    target = Path(settings.DATA_DIR) / "daemon-was-here.txt"
    # The daemon leaves the check's session and process group, then keeps trying to write for 20 s.
    daemon = (f"import time\nfor _ in range(200):\n    time.sleep(0.1)\n"
              f"    try:\n        open({str(target)!r}, 'w').write('late')\n    except OSError:\n        pass\n"
              f"# {marker}\n")
    code = ("import os, sys\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    if os.fork() == 0:\n"
            f"        os.execv(sys.executable, [sys.executable, '-c', {daemon!r}])\n"
            "    os._exit(0)\n"
            "import time\ntime.sleep(1)\nprint('daemon started')\n")

    result = _run(code)

    assert result.passed and "daemon started" in result.output, result.output
    time.sleep(1.5)
    assert processes_with(marker) == []
    assert not target.exists()


def test_an_endless_sleep_is_stopped_at_the_timeout_with_its_children():
    marker = f"academy-sleeper-{uuid.uuid4().hex}"
    child = f"import time; time.sleep(10**6) # {marker}"
    code = ("import os, sys, time\n"
            f"os.spawnv(os.P_NOWAIT, sys.executable, [sys.executable, '-c', {child!r}])\n"
            "time.sleep(10**6)\n")

    result = _run(code, timeout=2)

    assert result.status == "timeout" and "stopped after 2 s" in result.output
    assert processes_with(marker) == []


def test_output_is_bounded_to_a_tail_even_when_a_child_holds_the_pipe_open():
    code = ("import os, sys, time\n"
            "print('x' * 5_000_000, flush=True)\nprint('the end', flush=True)\n"
            "if os.fork() == 0:\n    os.setsid(); time.sleep(10**6)\n")

    result = _run(code, timeout=5)

    assert result.passed and result.output.rstrip().endswith("the end")
    assert len(result.output) <= 2000


@pytest.fixture
def tcp_listener():
    """A real TCP server on the host's loopback that records every connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1], _accepting(server)
    server.close()


@pytest.fixture
def unix_listeners(tmp_path):
    """Real Unix-domain socket servers: one on a path, one in the abstract namespace."""
    path = tmp_path / "service.sock"
    on_path = socket.socket(socket.AF_UNIX)
    on_path.bind(str(path))
    on_path.listen()
    abstract_name = f"\0academy-test-{uuid.uuid4().hex}"
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(abstract_name)
    abstract.listen()
    yield str(path), abstract_name, [_accepting(on_path), _accepting(abstract)]
    on_path.close()
    abstract.close()


def _accepting(server) -> list:
    accepted = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    return accepted


def test_a_check_cannot_connect_to_unix_sockets_of_the_host(unix_listeners):
    path, abstract_name, accepted = unix_listeners
    for address in (path, abstract_name):  # both are reachable from here
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(address)
    time.sleep(0.3)
    assert [len(a) for a in accepted] == [1, 1]
    addresses = [path, abstract_name, "/var/run/docker.sock", "/run/postgresql/.s.PGSQL.5432"]
    code = (f"import socket\nfor address in {addresses!r}:\n"
            "    s = socket.socket(socket.AF_UNIX)\n"
            "    try:\n        s.connect(address); print('CONNECTED', repr(address))\n"
            "    except OSError as exc:\n        print('refused', type(exc).__name__)\n")

    result = _run(code)

    assert "CONNECTED" not in result.output and result.output.count("refused") == len(addresses), result.output
    time.sleep(0.3)
    assert [len(a) for a in accepted] == [1, 1]  # nothing from the check arrived


def test_a_ctypes_socket_below_python_cannot_reach_a_host_listener(tcp_listener):
    port, accepted = tcp_listener
    with socket.create_connection(("127.0.0.1", port), timeout=2):  # the server is reachable from here
        pass
    time.sleep(0.3)
    assert len(accepted) == 1
    assert ctypes.util.find_library("c")
    # libc's socket()/connect() straight from ctypes: no Python socket object, no audit event.
    code = ("import ctypes, struct\nlibc = ctypes.CDLL('libc.so.6', use_errno=True)\nprint('ctypes loaded')\n"
            "fd = libc.socket(2, 1, 0)\n"
            f"address = struct.pack('=H', 2) + struct.pack('!H', {port}) + bytes([127, 0, 0, 1]) + bytes(8)\n"
            "rc = libc.connect(fd, ctypes.c_char_p(address), len(address))\n"
            "print('connect', rc, ctypes.get_errno())\n"
            "assert rc != 0\n")

    result = _run(code)

    assert result.passed and "ctypes loaded" in result.output, result.output
    time.sleep(0.3)
    assert len(accepted) == 1


def test_a_check_sees_no_environment_of_the_server(monkeypatch):
    monkeypatch.setenv("ACADEMY_TEST_SECRET", "do-not-leak")
    result = _run("import os\nprint(sorted(os.environ))\nprint(os.environ.get('ACADEMY_TEST_SECRET'))\n")
    assert result.passed and "do-not-leak" not in result.output
    assert "SECRET_KEY" not in result.output and "DATABASE_URL" not in result.output


def test_a_check_sees_only_its_own_processes():
    result = _run("import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n")
    assert result.passed
    assert result.output.strip() == "[1, 2]"  # the namespace's init (bwrap) and the check itself
