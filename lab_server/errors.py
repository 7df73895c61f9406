"""The kit's exceptions. Each message is in Spanish and says what to do next."""

from __future__ import annotations

import errno


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


class DataDirError(LabError):
    """LAB_DATA_DIR cannot be written (no permission, not a folder, or the disk is full)."""

    def __init__(self, folder: object, cause: OSError) -> None:
        self.folder = folder
        if cause.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            why = "el disco está lleno. Libera espacio"
        elif cause.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            why = "no tienes permiso de escritura allí. Revisa los permisos"
        else:
            why = f"{cause.strerror or cause}. Revisa la ruta"
        super().__init__(
            f"No se puede escribir en la carpeta de datos LAB_DATA_DIR={folder}: {why}, "
            "o define LAB_DATA_DIR con otra carpeta en .env."
        )


class StoreUnavailable(StoreError):
    """The database did not answer in time or the connection broke: what a webhook was
    writing goes to the journal instead (see `lab_server.journal`)."""


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
