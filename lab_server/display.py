"""How a running lab presents itself: HTML in Jupyter, plain text in a terminal."""

from __future__ import annotations

from html import escape
from typing import Protocol

from .config import SERVICES, Settings


class Lab(Protocol):
    """What the card shows of a running lab (`lab_server.lab.Lab` is one)."""

    settings: Settings
    tunnel_error: str | None

    @property
    def url(self) -> str: ...
    @property
    def running(self) -> bool: ...
    @property
    def public_url(self) -> str | None: ...
    @property
    def webhook_urls(self) -> dict[str, str]: ...


SANDBOX_NOTE = "Modo sandbox: nada sale de tu computadora (servicios simulados en 127.0.0.1)."


def service_lines(lab: Lab) -> list[tuple[str, str]]:
    """(service, state) for each outside service the kit talks to."""
    rows = []
    for service in SERVICES:
        if lab.settings.is_sandboxed(service):
            rows.append((service, "sandbox (simulado en tu computadora)"))
        elif missing := lab.settings.missing(service):
            rows.append((service, "sin configurar: falta " + ", ".join(missing)))
        else:
            rows.append((service, "real (credenciales en .env)"))
    return rows


def lab_text(lab: Lab) -> str:
    state = "detenido" if not lab.running else "en marcha"
    lines = [f"Servidor del laboratorio {state} en {lab.url}"]
    if lab.settings.sandboxed:
        lines.append(SANDBOX_NOTE)
    if lab.public_url:
        lines.append(f"URL pública: {lab.public_url}")
    if lab.tunnel_error:
        lines.append(f"Túnel: {lab.tunnel_error}")
    lines.append("Webhooks (pégalos en la consola de cada servicio):")
    lines += [f"  {name:<10} {url}" for name, url in lab.webhook_urls.items()]
    lines.append("Servicios:")
    lines += [f"  {name:<10} {state}" for name, state in service_lines(lab)]
    lines.append("Registro: lab.logs()   Detener: lab.stop()")
    return "\n".join(lines)


def lab_html(lab: Lab) -> str:
    color = "#0a7d32" if lab.running else "#888"
    parts = [
        f'<div style="border-left:4px solid {color};padding:4px 12px">',
        f"<b>Servidor del laboratorio</b> en <a href='{escape(lab.url)}/health' target='_blank'>"
        f"{escape(lab.url)}</a> ({'en marcha' if lab.running else 'detenido'})",
    ]
    if lab.settings.sandboxed:
        parts.append(f"<div style='color:#8a5a00'><b>🧪 {escape(SANDBOX_NOTE)}</b></div>")
    if lab.public_url:
        parts.append(f"<div>URL pública: <code>{escape(lab.public_url)}</code></div>")
    if lab.tunnel_error:
        parts.append(f"<div style='color:#a00'>Túnel: {escape(lab.tunnel_error)}</div>")
    rows = "".join(
        f"<tr><td>{escape(n)}</td><td><code>{escape(u)}</code></td></tr>"
        for n, u in lab.webhook_urls.items()
    )
    parts.append(
        f"<div>Webhooks (pégalos en la consola de cada servicio):</div><table>{rows}</table>"
    )
    rows = "".join(
        f"<tr><td>{escape(n)}</td><td>{escape(s)}</td></tr>" for n, s in service_lines(lab)
    )
    parts.append(f"<div>Servicios:</div><table>{rows}</table>")
    parts.append(
        "<div><code>lab.logs()</code> muestra el registro · "
        "<code>lab.stop()</code> lo detiene</div>"
    )
    parts.append("</div>")
    return "\n".join(parts)
