"""Experiment trackers a run also reports to, beside its TensorBoard files (conf/tracking/):
mlflow.py. The run's logger (logging/tensorboard.RunLogger) hands a tracker what it logs. Here:
the tracker by name, and the store a tracking URI names, checked before anything is made."""

from __future__ import annotations

import os
import re
import urllib.request
from pathlib import Path

from genlab.errors import ConfigError, first_line

LOCAL_SCHEMES = ("file", "sqlite")
SERVER_SCHEMES = ("http", "https", "databricks")
DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")  # MLflow's SQLAlchemy stores, SQLite aside
# MLflow's defaults (120 s a request, 7 retries) hold a call to a hung server for about 16
# minutes, past NCCL's 10-minute timeout on a DDP run's other ranks; a user's own setting wins
HTTP_LIMITS = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "15", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2"}


def make_tracker(tracking: dict, config: dict, group: str, sweep: str | None):
    """The tracker the `tracking` group names; checked before any training: a URI genlab does
    not serve or an unreachable server stops the run here, in one line."""
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        raise ConfigError("tracking=mlflow needs MLflow: pip install 'genlab[mlflow]'")
    from genlab.tracking.mlflow import MLflowTracker

    return MLflowTracker(
        tracking["uri"], tracking["experiment"], tracking["log_checkpoint"], sweep, config, group
    )


def store_uri(uri: str) -> str:
    """The tracking store as a URI every job opens alike: sqlite:/// and folders made absolute,
    a server's URI as given. A scheme genlab does not serve is one line, before anything is
    made (it would otherwise be read as a folder, named with its password)."""
    scheme = scheme_of(uri)
    if scheme.split("+")[0] in DATABASE_SCHEMES:  # postgresql+psycopg2:// too
        raise ConfigError(
            f"tracking.uri={masked(uri)}: genlab does not open a database itself; serve it with "
            "`mlflow server --backend-store-uri <it>` and set tracking.uri=http://<host>:<port>"
        )
    if scheme and scheme not in LOCAL_SCHEMES + SERVER_SCHEMES:
        raise ConfigError(
            f"tracking.uri={masked(uri)}: {scheme}:// is not a tracking store genlab knows; use "
            "sqlite:///<file>, file:///<folder> (or a plain folder), http(s)://<server> or "
            "databricks"
        )
    rest = uri[len(scheme) + 3 :] if scheme else uri
    if scheme == "sqlite":
        if not rest.startswith("/"):  # sqlite:// alone is a store in memory, gone at the end
            raise ConfigError(f"tracking.uri={uri}: an SQLite store is sqlite:///<file>")
        return "sqlite:///" + str(Path(rest[1:]).expanduser().absolute())
    if scheme in SERVER_SCHEMES or uri == "databricks":
        for name, value in HTTP_LIMITS.items():
            os.environ.setdefault(name, value)
        return uri
    path = Path(rest).expanduser().absolute()  # file://<folder> or a plain folder
    # MLflow 3 keeps its file store in maintenance mode behind this switch; naming a folder here
    # is asking for it (docs: tracking)
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return path.as_uri()


def scheme_of(uri: str) -> str:
    """The scheme of `scheme://...`, lower case; "" for a path (C:\\runs is a Windows path)."""
    found = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", uri)
    return found.group(1).lower() if found else ""


def masked(text: str) -> str:
    """A URI, or a message quoting one, as genlab prints it: a password (user:secret@host)
    shown as ***, up to the URI's last @, so a password with an unescaped @ is hidden whole."""
    return re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):\S*@", r"\1:***@", text)


def local_path(uri: str) -> Path | None:
    """The database file or folder of a local store (store_uri's form), None for a server."""
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///"))
    if uri.startswith("file://"):
        return Path(urllib.request.url2pathname(uri.removeprefix("file://")))
    return None


def reachable(uri: str) -> None:
    """An http(s) server must answer its health check, a local store sit where it can be
    written: else one line naming the URI, before any training."""
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=10):
                return
        except Exception as e:  # refused, unknown host, timeout, an error page
            why = first_line(getattr(e, "reason", e), 80)
            raise ConfigError(
                masked(
                    f"tracking.uri={uri}: no MLflow server answers ({why}); start one "
                    "(mlflow server --host 127.0.0.1 --port 5000) or set tracking=none"
                )
            ) from None
    local = local_path(uri)
    if local is None:
        return  # databricks: its own client checks the workspace
    folder = local.parent if uri.startswith("sqlite:///") else local
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"tracking.uri={uri}: cannot make {folder} ({e.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"tracking.uri={uri}: cannot write into {folder}")
