"""The kit's exceptions. Each message is in Spanish and says what to do next."""

from __future__ import annotations


class LabError(Exception):
    """Base class of every error the kit raises on purpose."""


class SettingsError(LabError):
    """A variable has a value the kit cannot use."""

    def __init__(self, variable: str, value: str, expected: str) -> None:
        self.variable = variable
        super().__init__(
            f"{variable}={value!r} no es válido: se esperaba {expected}. Corrígelo en .env."
        )


class MissingCredentialError(LabError):
    """A feature needs a credential that is not configured."""

    def __init__(self, variable: str, where: str) -> None:
        self.variable = variable
        super().__init__(
            f"Falta {variable}. Dónde conseguirlo: {where} Agrégalo a tu archivo .env "
            "(copia .env.example) o usa el sandbox del curso (LAB_SANDBOX=1)."
        )


class ResponsesFileError(LabError):
    """responses.json is missing, is not JSON, or does not have the expected shape."""


class StoreError(LabError):
    """The database cannot be opened or used."""


class PortInUseError(LabError):
    """Another program (not a lab server of this kernel) holds the port."""

    def __init__(self, host: str, port: int) -> None:
        self.port = port
        super().__init__(
            f"El puerto {port} en {host} ya lo usa otro programa. Usa otro puerto, por ejemplo "
            f"start(port={port + 1}), o cierra el otro programa "
            "(¿otro notebook o `lab-server run`?)."
        )


class ServerStartError(LabError):
    """The lab server did not answer its health check in time."""


class TunnelError(LabError):
    """The ngrok tunnel could not be opened; the local server keeps running."""
