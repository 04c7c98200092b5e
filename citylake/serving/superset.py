"""Drive Apache Superset from its own venv (``settings.superset_venv``).

Superset pins SQLAlchemy < 2 and an old pandas, so it never shares the platform venv:
everything here is a subprocess into that venv; nothing imports ``superset``. State
(config, secret key, SQLite metadata, pid file, logs/) lives in ``settings.superset_home``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from citylake.serving.dashboards import build_bundle
from citylake.settings import Settings, load_settings

log = logging.getLogger(__name__)

START_TIMEOUT_S = 180.0  # ~12 s on 2 cores when idle; generous for loaded CI machines
CLI_TIMEOUT_S = 600.0
_APP_SPEC = "superset.app:create_app()"
# Popen objects of servers started by this process, so stop() can reap them.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


# superset_config.py, rewritten from settings by write_config() (str.format fields).
CONFIG_TEMPLATE = """\
# Written by citylake.serving.superset.write_config() from citylake settings; edits here are
# overwritten. Change citylake/settings.py or the CITYLAKE_* environment instead.
import logging
import os
from pathlib import Path

from superset.config import TALISMAN_CONFIG as _UPSTREAM_TALISMAN_CONFIG

SQLALCHEMY_DATABASE_URI = {db_url!r}
# Generated once per installation, kept next to this file, never in the repository.
SECRET_KEY = Path({secret_path!r}).read_text().strip()
DATA_DIR = {data_dir!r}
LOG_LEVEL = logging.INFO

WTF_CSRF_ENABLED = True
SESSION_COOKIE_SECURE = False  # served on 127.0.0.1 over plain HTTP
# DuckDB is not on Superset's blocklist; SQLite and shillelagh URIs stay refused.
PREVENT_UNSAFE_DB_CONNECTIONS = True
# The serving file is replaced atomically after each pipeline run: a data cache would
# show the previous run's numbers, so results are not cached.
DATA_CACHE_CONFIG = {{"CACHE_TYPE": "NullCache"}}
# Row-level security also in SQL Lab: department analysts query their tables there, and
# their rows must be filtered as in charts (citylake.serving.superset_roles). On unless
# SUPERSET_FEATURE_RLS_IN_SQLLAB=false (then filtered roles get no SQL Lab at all).
_RLS_IN_SQLLAB = os.environ.get("SUPERSET_FEATURE_RLS_IN_SQLLAB", "true").lower()
FEATURE_FLAGS = {{"RLS_IN_SQLLAB": _RLS_IN_SQLLAB in ("1", "true", "yes", "on")}}

# No telemetry: the UI embeds a Scarf pixel; dropping its hosts from the CSP makes
# browsers refuse to load it. Everything else is Superset's default policy.
TALISMAN_ENABLED = True
_CSP = _UPSTREAM_TALISMAN_CONFIG["content_security_policy"]
_IMG_SRC = [src for src in _CSP["img-src"] if "scarf.sh" not in src]
TALISMAN_CONFIG = {{**_UPSTREAM_TALISMAN_CONFIG, "content_security_policy": {{**_CSP, "img-src": _IMG_SRC}}}}
"""

# Runs inside Superset's venv (python -c IMPORT_SCRIPT bundle.zip username): Superset's
# per-type import commands, each with overwrite=True, in dependency order.
IMPORT_SCRIPT = """\
import json, sys, traceback, zipfile
import yaml
from superset.app import create_app

bundle_path, username = sys.argv[1], sys.argv[2]
with create_app().app_context():
    from superset import db, security_manager
    from superset.commands.chart.importers.v1 import ImportChartsCommand
    from superset.commands.dashboard.importers.v1 import ImportDashboardsCommand
    from superset.commands.database.importers.v1 import ImportDatabasesCommand
    from superset.commands.dataset.importers.v1 import ImportDatasetsCommand
    from superset.commands.importers.v1.utils import get_contents_from_bundle
    from superset.utils.core import override_user

    with zipfile.ZipFile(bundle_path) as bundle:
        contents = get_contents_from_bundle(bundle)
    metadata = yaml.safe_load(contents["metadata.yaml"])
    user = security_manager.find_user(username=username)
    if user is None:
        sys.exit(f"Superset user {username!r} not found; run ensure_initialized()")
    steps = [("databases/", ImportDatabasesCommand), ("datasets/", ImportDatasetsCommand),
             ("charts/", ImportChartsCommand), ("dashboards/", ImportDashboardsCommand)]
    summary = {}
    with override_user(user):
        for prefix, command in steps:
            model = command.dao.model_cls
            model_type = model.__name__  # Database, SqlaTable, Slice, Dashboard
            # Each command accepts only bundles that declare its own model type.
            typed = {**contents, "metadata.yaml": yaml.safe_dump({**metadata, "type": model_type})}
            try:
                command(typed, overwrite=True).run()
            except Exception as exc:
                traceback.print_exc()
                detail = getattr(exc, "normalized_messages", lambda: None)()
                sys.exit(f"import of {prefix} failed: {detail or repr(exc.__cause__ or exc)}")
            uuids = [yaml.safe_load(text)["uuid"] for name, text in contents.items()
                     if name.startswith(prefix)]
            ids = [row.id for row in db.session.query(model.id).filter(model.uuid.in_(uuids))]
            summary[prefix.rstrip("/")] = {"files": len(uuids), "rows": len(ids), "ids": ids}
    print("CITYLAKE_IMPORT " + json.dumps(summary))
"""


class SupersetError(RuntimeError):
    """Superset could not be set up, started or fed; the message says where to look."""


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    port: int
    url: str
    log_path: str


def _path(settings: Settings, name: str) -> Path:
    """A file in Superset's home (config, secret_key, superset.pid, marker, logs/)."""
    (settings.superset_home / "logs").mkdir(parents=True, exist_ok=True)
    return settings.superset_home / name


def venv_bin(settings: Settings, name: str) -> Path:
    """A program in Superset's venv, or a clear error saying how to get it."""
    path = settings.superset_venv / "bin" / name
    if not path.exists():
        raise SupersetError(
            f"{path} not found: Superset's venv ({settings.superset_venv}) is missing or "
            "incomplete. Run `make install` (it builds it from requirements/superset.txt)."
        )
    return path


def superset_version(settings: Settings) -> str:
    """The installed apache-superset version, from the venv's metadata (no import)."""
    venv_bin(settings, "superset")
    found = sorted(settings.superset_venv.glob("lib/python*/site-packages/apache_superset-*"))
    if not found:
        return "unknown"
    return found[-1].name.removeprefix("apache_superset-").removesuffix(".dist-info")


def write_config(settings: Settings | None = None) -> Path:
    """(Re)write ``superset_config.py`` from settings; create the secret key once."""
    settings = settings or load_settings()
    secret = _path(settings, "secret_key")
    if not secret.exists():
        # 0600 from the start: the key signs session cookies and encrypts DB passwords.
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
    config = _path(settings, "superset_config.py")
    config.write_text(
        CONFIG_TEMPLATE.format(
            db_url=settings.superset_db_url,
            secret_path=str(secret),
            data_dir=str(settings.superset_home),
        )
    )
    return config


# The platform venv's paths must not leak into Superset's, and an env override of the
# metadata URI would bypass settings (the one config place).
_DROPPED_ENV = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "SUPERSET__SQLALCHEMY_DATABASE_URI"}


def _env(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _DROPPED_ENV}
    env.update(
        SUPERSET_CONFIG_PATH=str(settings.superset_home / "superset_config.py"),
        SUPERSET_HOME=str(settings.superset_home),
        VIRTUAL_ENV=str(settings.superset_venv),
        PATH=f"{settings.superset_venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
        **(extra or {}),
    )
    return env


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _run(settings: Settings, args: list[str], what: str, **extra_env: str) -> str:
    """Run a command in Superset's venv; output goes to logs/cli.log; errors quote its end."""
    log_path = _path(settings, "logs/cli.log")
    log.info("Superset: %s ...", what)
    started = time.monotonic()
    try:
        # cwd=home: Flask's CLI loads a .env from the working directory; ours has none.
        result = subprocess.run(
            args,
            cwd=settings.superset_home,
            env=_env(settings, extra_env),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise SupersetError(f"Superset {what} took over {CLI_TIMEOUT_S:.0f} s") from exc
    output = result.stdout + result.stderr
    with log_path.open("a") as handle:
        handle.write(f"\n===== {time.strftime('%F %T')} {what}\n{output}")
    if result.returncode != 0:
        raise SupersetError(
            f"Superset {what} failed (exit {result.returncode}); full log {log_path}:\n"
            f"{_tail(output)}"
        )
    log.info("Superset: %s done in %.1f s", what, time.monotonic() - started)
    return result.stdout


def _init_fingerprint(settings: Settings) -> str:
    return json.dumps(
        {
            "superset_version": superset_version(settings),
            "superset_db_url": settings.superset_db_url,
            "admin_user": settings.admin_user,
        }
    )


def is_initialized(settings: Settings | None = None) -> bool:
    """True when init ran for this Superset version, metadata DB and admin user."""
    settings = settings or load_settings()
    marker = _path(settings, ".citylake-initialized")
    url = settings.superset_db_url
    # A deleted SQLite file means a fresh metadata DB, whatever the marker says.
    sqlite_file = Path(url.removeprefix("sqlite:///").split("?")[0])
    if url.startswith("sqlite:///") and not sqlite_file.exists():
        return False
    return marker.exists() and marker.read_text() == _init_fingerprint(settings)


def ensure_initialized(settings: Settings | None = None, *, force: bool = False) -> bool:
    """Create/upgrade the metadata DB, the admin user and roles (~45 s). Skipped when
    already done (returns False); every step is idempotent, so ``force`` is safe."""
    settings = settings or load_settings()
    superset = str(venv_bin(settings, "superset"))
    write_config(settings)
    if not force and is_initialized(settings):
        log.debug("Superset already initialized in %s", settings.superset_home)
        return False
    _run(settings, [superset, "db", "upgrade"], "db upgrade")
    user = settings.admin_user
    # The password travels in the environment (click reads FLASK_<COMMAND>_<OPTION>),
    # not in argv, so `ps` does not show it. An existing user is left as it is.
    _run(
        settings,
        [superset, "fab", "create-admin", "--username", user, "--firstname", "Citylake",
         "--lastname", "Admin", "--email", f"{user}@citylake.invalid"],
        "fab create-admin",
        FLASK_FAB_CREATE_ADMIN_PASSWORD=settings.admin_password,
    )  # fmt: skip
    _run(settings, [superset, "init"], "init (roles and permissions)")
    _path(settings, ".citylake-initialized").write_text(_init_fingerprint(settings))
    return True


def run_script(settings: Settings, script: str, args: list[str], what: str) -> str:
    """Run a Python ``script`` (``python -c``) in Superset's venv with its config; stdout."""
    ensure_initialized(settings)
    return _run(settings, [str(venv_bin(settings, "python")), "-c", script, *args], what)


def import_dashboards(
    settings: Settings | None = None, *, dashboards_dir: Path | None = None
) -> dict[str, Any]:
    """Import ``dashboards/`` into Superset, updating what exists (matched by uuid).

    ``superset import-dashboards`` (and the dashboard REST import) overwrite only the
    dashboard, never its charts, datasets or database. So this runs Superset's per-type
    import commands (those behind ``POST /api/v1/<type>/import/``) with overwrite=True,
    in one process in Superset's venv, as the admin user; the server need not run.
    Returns, per type, how many files the bundle had and which rows now match them.
    """
    settings = settings or load_settings()
    if not settings.serving_db.exists():
        # Superset connects to the database while importing it (schema permissions).
        raise SupersetError(
            f"serving DB {settings.serving_db} does not exist yet: run the pipeline "
            "(dbt build and publish) before importing dashboards"
        )
    python = str(venv_bin(settings, "python"))
    ensure_initialized(settings)
    bundle = build_bundle(settings, dashboards_dir=dashboards_dir)
    args = [python, "-c", IMPORT_SCRIPT, str(bundle), settings.admin_user]
    lines = [ln for ln in _run(settings, args, "import").splitlines() if ln.startswith("CITYLAKE_")]
    if not lines:
        raise SupersetError(f"the import of {bundle} printed no summary; see logs/cli.log")
    summary: dict[str, Any] = json.loads(lines[-1].removeprefix("CITYLAKE_IMPORT "))
    log.info("Superset: imported %s", summary)
    return summary


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        return False  # ours and exited (poll() also reaped it)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    if not Path("/proc/self").exists():
        return True  # no /proc to say more
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False  # gone since kill(0)
    return state != "Z"  # a zombie has exited; its parent just has not reaped it


def server_info(settings: Settings | None = None) -> ServerInfo | None:
    """The server recorded in the pid file, if that process is still our Superset."""
    settings = settings or load_settings()
    try:
        info = ServerInfo(**json.loads(_path(settings, "superset.pid").read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if not _alive(info.pid):
        return None
    try:
        cmdline = Path(f"/proc/{info.pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return info  # no /proc to ask: trust the pid
    # Guards against a stale pid file whose pid now belongs to an unrelated process
    # (stop() would signal its whole group).
    return info if _APP_SPEC in cmdline else None


def is_running(settings: Settings | None = None) -> bool:
    return server_info(settings) is not None


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=3) as response:
            return bool(response.status == 200 and response.read().strip() == b"OK")
    except (urllib.error.URLError, OSError):
        return False


def start(
    settings: Settings | None = None,
    port: int | None = None,
    *,
    timeout: float = START_TIMEOUT_S,
    threads: int = 8,
) -> ServerInfo:
    """Start Superset (gunicorn on 127.0.0.1) and wait for /health. Initialises first if
    needed; returns the running server if there already is one on that port."""
    settings = settings or load_settings()
    port = port or settings.superset_port
    running = server_info(settings)
    if running is not None:
        if running.port != port:
            raise SupersetError(f"Superset already runs on port {running.port}; stop() it first")
        log.info("Superset already running at %s (pid %d)", running.url, running.pid)
        return running
    gunicorn = str(venv_bin(settings, "gunicorn"))
    ensure_initialized(settings)
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise SupersetError(f"port {port} on 127.0.0.1 is in use; set CITYLAKE_SUPERSET_PORT")
    log_path = _path(settings, "logs/superset.log")
    offset = log_path.stat().st_size if log_path.exists() else 0
    # One worker with threads, as Superset's own image runs it; enough for a local UI on
    # 2 cores. --limit-request-line 0 because explore URLs carry whole form data.
    cmd = [
        gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "1",
        "--worker-class", "gthread", "--threads", str(threads),
        "--timeout", "120", "--graceful-timeout", "10",
        "--limit-request-line", "0", "--limit-request-field_size", "0",
        "--access-logfile", str(_path(settings, "logs/access.log")), "--error-logfile", "-",
        _APP_SPEC,
    ]  # fmt: skip
    log.info("Superset: starting on http://127.0.0.1:%d (log %s)", port, log_path)
    started = time.monotonic()
    with log_path.open("ab") as log_handle:
        # Own session = own process group: stop() signals master and workers together,
        # and a Ctrl-C in the caller's terminal does not reach them.
        proc = subprocess.Popen(
            cmd,
            cwd=settings.superset_home,
            env=_env(settings),
            stdin=subprocess.DEVNULL,
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _CHILDREN[proc.pid] = proc
    url = f"http://127.0.0.1:{port}"
    info = ServerInfo(pid=proc.pid, port=port, url=url, log_path=str(log_path))
    _path(settings, "superset.pid").write_text(json.dumps(asdict(info)))

    def failure(reason: str) -> SupersetError:
        with log_path.open("rb") as handle:
            handle.seek(offset)
            tail = _tail(handle.read().decode(errors="replace"))
        return SupersetError(f"Superset {reason}; log {log_path}:\n{tail}")

    while not _healthy(url):
        if proc.poll() is not None:
            _path(settings, "superset.pid").unlink(missing_ok=True)
            raise failure(f"exited (code {proc.returncode}) while starting")
        if time.monotonic() - started > timeout:
            stop(settings)
            raise failure(f"did not answer {url}/health within {timeout:.0f} s")
        time.sleep(0.5)
    log.info("Superset: healthy at %s in %.1f s", url, time.monotonic() - started)
    return info


def stop(settings: Settings | None = None, *, timeout: float = 30.0) -> bool:
    """Stop the server's whole process group (TERM, then KILL). False if none ran."""
    settings = settings or load_settings()
    info = server_info(settings)
    if info is not None:
        log.info("Superset: stopping pid %d", info.pid)
        # start() made the master a session leader: its process group id is its pid.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(info.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(info.pid):
            log.warning("Superset: pid %d ignored SIGTERM for %.0f s; killing", info.pid, timeout)
        # Also catches workers a killed master left behind (same group).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(info.pid, signal.SIGKILL)
        child = _CHILDREN.pop(info.pid, None)
        if child is not None:
            child.wait(timeout=10)
    _path(settings, "superset.pid").unlink(missing_ok=True)
    return info is not None
