"""`lab-server doctor`: what is ready and what is missing, with secrets masked."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import metadata

from .auth import stored_token, token_path
from .config import SERVICES, VARIABLES, Settings, mask_secret, mask_url
from .errors import LabError
from .responses import ResponseBook
from .sandbox import STANDINS
from .store import Store

OK, WARN, FAIL = "ok", "aviso", "error"
SYMBOLS = {OK: "✔", WARN: "⚠", FAIL: "✘"}


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, how it went, and what to do."""

    name: str
    status: str  # OK, WARN or FAIL
    detail: str


def _requirements() -> list[tuple[str, str]]:
    """(distribution, requirement text) for the kit's runtime dependencies."""
    out = []
    for text in metadata.requires("lab-server") or []:
        if "extra ==" in text:
            continue
        name = text.split(";")[0].strip()
        for stop in "<>=![ ":
            name = name.split(stop)[0]
        out.append((name, text.split(";")[0].strip()))
    return out


def check_packages() -> list[Check]:
    checks = []
    for name, requirement in _requirements():
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            checks.append(Check(name, FAIL, f"no instalado; ejecuta `make lab` ({requirement})"))
            continue
        checks.append(Check(name, OK, f"{version} (se pide {requirement})"))
    return checks


#: What each LAB_SANDBOX mode means, so the report explains it instead of showing "1".
SANDBOX_MEANING = {
    "auto": "auto (se simulan los servicios sin credenciales)",
    "1": "1 (se simulan todos los servicios)",
    "0": "0 (sin simulador: solo servicios reales)",
}


def shown_value(name: str, value: object) -> str:
    """A setting as a Spanish report shows it: «sí»/«no», never Python's True/False."""
    if isinstance(value, bool):
        return "sí" if value else "no"
    if name == "LAB_SANDBOX":
        return SANDBOX_MEANING.get(str(value), str(value))
    if isinstance(value, float) and name.endswith("_TIMEOUT"):
        return f"{value:g} s"
    return mask_url(str(value))


def check_settings(settings: Settings) -> list[Check]:
    checks = []
    for var in VARIABLES:
        value = getattr(settings, var.field)
        if var.name == "LAB_API_TOKEN":
            checks.append(check_api_token(settings))
        elif var.secret:
            if value:
                checks.append(Check(var.name, OK, mask_secret(value)))
            elif var.service:
                checks.append(Check(var.name, WARN, f"no definido. {var.where}"))
        elif value not in (None, ""):
            checks.append(Check(var.name, OK, shown_value(var.name, value)))
        elif var.service:
            checks.append(Check(var.name, WARN, f"no definido. {var.where}"))
    return checks


def check_api_token(settings: Settings) -> Check:
    """The token of the /api routes: set, generated earlier, or to be generated at start."""
    token = stored_token(settings)
    if settings.api_token:
        return Check("LAB_API_TOKEN", OK, mask_secret(token))
    if token:
        return Check(
            "LAB_API_TOKEN", OK, f"{mask_secret(token)} (generado en {token_path(settings)})"
        )
    return Check(
        "LAB_API_TOKEN", OK, f"se generará al iniciar el servidor en {token_path(settings)}"
    )


def check_services(settings: Settings) -> list[Check]:
    """Per outside service: the real one, the classroom sandbox, or not available."""
    checks = []
    for service in SERVICES:
        missing = ", ".join(settings.missing(service))
        simulated = service in STANDINS and (
            settings.sandbox == "1" or (settings.sandbox == "auto" and missing)
        )
        if simulated and not missing:
            checks.append(Check(service, OK, "LAB_SANDBOX=1: se usa el sandbox del curso"))
        elif simulated:
            checks.append(Check(service, WARN, f"falta {missing}: se usará el sandbox del curso"))
        elif not missing:
            checks.append(Check(service, OK, "credenciales configuradas: se usa el servicio real"))
        else:
            checks.append(Check(service, WARN, f"falta {missing}: no disponible"))
    return checks


def check_files_and_database(settings: Settings) -> list[Check]:
    checks = []
    try:
        ResponseBook(settings.responses_path)
        checks.append(Check("responses.json", OK, str(settings.responses_path)))
    except LabError as exc:
        checks.append(Check("responses.json", FAIL, str(exc)))
    try:
        store = Store.from_settings(settings)
        store.ping()
        checks.append(Check("base de datos", OK, f"{store.dialect}: {store.masked_url()}"))
        store.close()
    except LabError as exc:
        checks.append(Check("base de datos", FAIL, str(exc)))
    return checks


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order the report prints them."""
    python = ".".join(map(str, sys.version_info[:3]))
    version_ok = sys.version_info >= (3, 10)
    return [
        Check(
            "python",
            OK if version_ok else FAIL,
            python + ("" if version_ok else " (se necesita 3.10+)"),
        ),
        *check_packages(),
        *check_files_and_database(settings),
        *check_settings(settings),
        *check_services(settings),
    ]


def format_report(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    return "\n".join(f"{SYMBOLS[c.status]} {c.name:<{width}}  {c.detail}" for c in checks)
