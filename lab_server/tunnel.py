"""The public https URL for webhooks, through an ngrok tunnel opened with pyngrok.

Failing to open a tunnel never stops the lab: the local server keeps running and the
student gets one message, within seconds, saying why and what to do.
"""

from __future__ import annotations

import logging
import threading

from pyngrok import conf, ngrok
from pyngrok.exception import PyngrokError, PyngrokNgrokError, PyngrokNgrokInstallError

from .config import BY_NAME, Settings
from .errors import TunnelError

log = logging.getLogger(__name__)

#: Seconds to wait for the agent; pyngrok alone can wait over 20 s when offline.
TUNNEL_TIMEOUT = 10.0

#: How to try again, said where the message is read: a notebook cell or a terminal.
RERUN_NOTEBOOK = "start(tunnel=True)"
RERUN_TERMINAL = "`lab-server run --tunnel`"


def _explain(exc: PyngrokError) -> str:
    """Turn pyngrok's error into what the student should do."""
    if isinstance(exc, PyngrokNgrokInstallError):
        return (
            "No se pudo descargar el programa ngrok (¿sin internet o red bloqueada?). "
            "Conéctate y vuelve a intentarlo, o descárgalo a mano desde https://ngrok.com/download "
            "y define PYNGROK_NGROK_PATH con su ruta."
        )
    if isinstance(exc, PyngrokNgrokError):
        detail = exc.ngrok_error or str(exc)
        code = getattr(exc, "ngrok_error_code", None) or ""
        if "4018" in f"{code} {detail}":
            hint = "El authtoken no es válido: cópialo otra vez del panel de ngrok."
        elif "108" in str(code):
            hint = "Ya hay otro agente de ngrok abierto: ciérralo o reinicia el kernel."
        elif "334" in str(code):
            hint = "Esa URL ya está en uso por otro túnel: cierra el otro notebook o proceso."
        else:
            hint = "Revisa tu conexión y tu NGROK_AUTHTOKEN."
        return f"ngrok no pudo iniciar: {detail}. {hint}"
    return f"ngrok falló: {exc}"


def open_tunnel(
    port: int,
    settings: Settings,
    timeout: float = TUNNEL_TIMEOUT,
    rerun: str = RERUN_NOTEBOOK,
) -> str:
    """Open an https tunnel to `port` and return its public URL, or raise `TunnelError`.

    `rerun` is what the caller's user runs again once the token is set (`RERUN_NOTEBOOK`
    from `start()`, `RERUN_TERMINAL` from `lab-server run`).
    """
    if not settings.ngrok_authtoken:
        raise TunnelError(
            "Falta NGROK_AUTHTOKEN, así que no hay túnel público. "
            f"Consíguelo en {BY_NAME['NGROK_AUTHTOKEN'].where} "
            f"Agrégalo a .env y vuelve a ejecutar {rerun}. "
            "El servidor local sigue funcionando."
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = conf.PyngrokConfig(
        auth_token=settings.ngrok_authtoken,
        config_path=str(settings.data_dir / "ngrok.yml"),
        startup_timeout=int(timeout),
    )
    outcome: dict[str, object] = {}

    def connect() -> None:
        try:
            outcome["url"] = ngrok.connect(str(port), pyngrok_config=config).public_url
        except PyngrokError as exc:
            outcome["error"] = exc

    # A daemon thread: an agent that never answers must not block the kernel or its exit.
    worker = threading.Thread(target=connect, name="ngrok-connect", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        # pyngrok holds its process lock while the agent starts: end it once it lets go.
        threading.Thread(target=ngrok.kill, args=(config,), daemon=True).start()
        raise TunnelError(
            f"ngrok no respondió en {timeout:.0f} s (¿sin internet?). "
            "El servidor local sigue funcionando; inténtalo de nuevo cuando tengas conexión."
        )
    if "error" in outcome:
        error = outcome["error"]
        assert isinstance(error, PyngrokError)
        raise TunnelError(_explain(error) + " El servidor local sigue funcionando.") from error
    public_url = str(outcome["url"])
    log.info("Túnel abierto: %s -> puerto %s", public_url, port)
    return public_url


def close_tunnel(public_url: str) -> None:
    """Close one tunnel; never downloads anything and never raises."""
    try:
        ngrok.disconnect(public_url, pyngrok_config=conf.PyngrokConfig())
    except PyngrokError as exc:
        log.warning("No se pudo cerrar el túnel %s: %s", public_url, exc)


def stop_agent() -> None:
    """End the ngrok agent this process started, with every tunnel it holds."""
    ngrok.kill(conf.PyngrokConfig())
