"""Graph API errors (Facebook Pages and Instagram), explained in Spanish with the fix.

Both hosts answer an error as `{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}` (https://developers.facebook.com/docs/graph-api/guides/error-handling/).
`GraphAPIError` keeps Meta's own message, code, subcode and fbtrace_id (support asks for it)
and adds what to do. Instagram's publishing codes come from
https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/error-codes.
"""

from __future__ import annotations

from ..errors import LabError
from ..oauth.errors import (
    MissingScopeError,
    OAuthError,
    ProviderError,
    PublishInputError,
    TokenExpiredError,
)
from ..urls import private_url_problem

#: (code, subcode) -> what to do; `None` as subcode matches any subcode of that code.
HINTS: dict[tuple[int, int | None], str] = {
    (190, None): (
        "El token no es válido o venció (código 190). Vuelve a conectar la cuenta "
        "(lab-server connect facebook|instagram). Si el mensaje dice «Cannot parse access "
        "token», quizá usas un token de Instagram en graph.facebook.com o al revés: cada "
        "camino de login tiene su host."
    ),
    (190, 463): (
        "El token venció (código 190, subcódigo 463). Un token corto dura 1 hora: cámbialo al "
        "momento por uno largo (60 días) y renuévalo antes de que venza; si ya venció, vuelve "
        "a conectar la cuenta (lab-server connect facebook|instagram)."
    ),
    (10, None): (
        "A la app le falta un permiso (código 10). Vuelve a conectar la cuenta y acepta todos "
        "los permisos; fuera del modo desarrollo, el permiso necesita la revisión de la app "
        "(App Review) en developers.facebook.com."
    ),
    (200, None): (
        "Falta un permiso (código 200). Facebook: el token de página necesita "
        "pages_manage_posts y pages_read_engagement, y tu usuario debe poder crear contenido "
        "en la página. Instagram: instagram_business_content_publish. Vuelve a conectar la "
        "cuenta y acepta todos los permisos."
    ),
    (200, 1404078): (
        "La página exige la autorización de publicación de páginas (Page Publishing "
        "Authorization, PPA) o la verificación en dos pasos. Un administrador debe "
        "completarla en Facebook (Configuración de la página > Autorizaciones de la página) "
        "y luego puedes volver a publicar; no hay forma de saberlo por la API antes."
    ),
    (9, 2207042): (
        "Llegaste al límite de publicaciones de Instagram en 24 horas (código 9). Consulta "
        "content_publishing_limit antes de publicar y vuelve a intentarlo mañana."
    ),
    (9004, 2207052): (
        "Instagram no pudo descargar la imagen: image_url debe ser una URL https pública "
        "(no localhost ni una IP privada) que devuelva un JPEG. Súbela a un servicio como "
        "Cloudinary y usa su secure_url."
    ),
    (9007, 2207027): (
        "El contenedor aún no está listo (o ya se publicó): consulta status_code hasta que "
        "diga FINISHED y publica cada contenedor una sola vez."
    ),
    (-2, 2207003): "Instagram tardó demasiado en descargar la imagen: inténtalo de nuevo.",
    (-1, 2207001): "Error interno de Instagram: inténtalo de nuevo en unos segundos.",
    (4, None): "Demasiadas llamadas a la API (código 4): espera unos minutos.",
    (100, None): (
        "Parámetro no válido o id inexistente (código 100): revisa el id de la página o de la "
        "cuenta de Instagram y los nombres de los campos."
    ),
}

#: Part of a message (lower case) -> the fix, where the code alone says too little.
MESSAGE_HINTS: tuple[tuple[str, str], ...] = (
    (
        "matching code was not found",
        "El código de autorización se usa una sola vez, vence en minutos y exige el mismo "
        "redirect_uri: vuelve a iniciar la conexión.",
    ),
    (
        "24 hours old",
        "Un token largo de Instagram se renueva solo cuando tiene al menos 24 horas: espera "
        "(sigue valiendo hasta 60 días desde que lo obtuviste).",
    ),
)

#: Where Meta lists each family of codes.
DOCS = {
    "facebook": "https://developers.facebook.com/docs/graph-api/guides/error-handling/",
    "instagram": (
        "https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/"
        "reference/error-codes"
    ),
}


class MetaError(LabError):
    """Base class of the Facebook and Instagram client's errors."""


class MetaConnectionError(MetaError):
    """The Graph API could not be reached, or did not answer in time."""


def hint_for(code: int | None, subcode: int | None) -> str:
    """The Spanish fix for a Graph error code, or "" for one the kit does not know."""
    if code is None:
        return ""
    if (code, subcode) in HINTS:
        return HINTS[(code, subcode)]
    if 200 <= code <= 299:
        return HINTS[(200, None)]
    return HINTS.get((code, None), "")


class GraphAPIError(MetaError):
    """Meta answered with an error object: its message, code, subcode, trace id and the fix."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        error_type: str | None = None,
        fbtrace_id: str | None = None,
        status: int | None = None,
        network: str = "facebook",
        user_message: str | None = None,
    ) -> None:
        self.message = message
        self.code = code
        self.subcode = subcode
        self.error_type = error_type
        self.fbtrace_id = fbtrace_id
        self.status = status
        self.network = network
        self.user_message = user_message
        name = "Instagram" if network == "instagram" else "Facebook"
        codes = f" (código {code}" + (f", subcódigo {subcode})" if subcode else ")")
        text = f"{name} rechazó la petición{codes if code is not None else ''}: «{message}»."
        if user_message and user_message != message:
            text += f" {user_message}"
        hint = next((h for part, h in MESSAGE_HINTS if part in message.lower()), "")
        hint = hint or hint_for(code, subcode)
        if hint:
            text += f" {hint}"
        if fbtrace_id:
            text += f" fbtrace_id: {fbtrace_id}."
        super().__init__(f"{text} Más información: {DOCS[network]}")

    @classmethod
    def from_body(cls, body: object, status: int, network: str) -> GraphAPIError:
        """Read Graph's error object; anything else becomes an error that says so."""
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(body, dict) and isinstance(body.get("error_message"), str):
            # api.instagram.com's token endpoint: {"error_type", "code": 400, "error_message"}
            message = body["error_message"]
            return cls(message, error_type=body.get("error_type"), status=status, network=network)
        if not isinstance(error, dict):
            return cls(
                f"respuesta HTTP {status} sin objeto de error de la Graph API",
                status=status,
                network=network,
            )
        return cls(
            str(error.get("message") or "sin mensaje"),
            code=_int_or_none(error.get("code")),
            subcode=_int_or_none(error.get("error_subcode")),
            error_type=error.get("type"),
            fbtrace_id=error.get("fbtrace_id"),
            status=status,
            network=network,
            user_message=error.get("error_user_msg"),
        )

    @property
    def expired_token(self) -> bool:
        return self.code == 190

    @property
    def missing_permission(self) -> bool:
        return self.code == 10 or (self.code is not None and 200 <= self.code <= 299)


class ContainerError(MetaError):
    """An Instagram media container ended in ERROR or EXPIRED instead of FINISHED."""

    def __init__(self, container_id: str, status_code: str, status: str, image_url: str) -> None:
        self.container_id = container_id
        self.status_code = status_code
        self.status = status
        text = f"El contenedor {container_id} de Instagram terminó en {status_code}"
        text += f" («{status}»)." if status else "."
        problem = private_url_problem(image_url, "Meta")
        if problem:
            text += f" La imagen no es pública: {problem}"
        elif status_code == "EXPIRED":
            text += " Un contenedor dura 24 horas: crea uno nuevo y publícalo enseguida."
        else:
            text += " " + HINTS[(9004, 2207052)]
        super().__init__(text)


class PublishingLimitReached(MetaError):
    """content_publishing_limit says the account used its posts for the last 24 hours."""

    def __init__(self, usage: int, total: int, hours: float) -> None:
        self.usage, self.total = usage, total
        super().__init__(
            f"Tu cuenta de Instagram ya publicó {usage} de {total} publicaciones permitidas en "
            f"las últimas {hours:g} horas (content_publishing_limit). Si publicas ahora, Meta "
            "responde con el error código 9 (subcódigo 2207042): espera a que pase el periodo."
        )


class PagePublishingAuthorizationError(ProviderError):
    """The Page requires Page Publishing Authorization (or 2FA) before any post: 403."""

    status = 403


class PublishingLimitError(ProviderError):
    """Too many posts (Instagram code 9) or calls (code 4) for now: 429, try later."""

    status = 429


def as_oauth_error(exc: MetaError) -> OAuthError:
    """The OAuth core's error for a Meta error, so the publish API and the callback page
    answer it with the right status; the Spanish text and Meta's message and code are kept."""
    error: OAuthError
    if isinstance(exc, GraphAPIError):
        if exc.expired_token:
            error = TokenExpiredError(str(exc))
        elif exc.subcode == 1404078:
            error = PagePublishingAuthorizationError(str(exc))
        elif exc.missing_permission:
            error = MissingScopeError(str(exc))
        elif exc.code in (4, 9):
            error = PublishingLimitError(str(exc))
        else:
            error = ProviderError(str(exc))
        # set after __init__: the text already quotes Meta's message and code
        error.provider_message, error.provider_code = exc.message, exc.code
        return error
    if isinstance(exc, ContainerError):
        error = ProviderError(str(exc))
        error.provider_message, error.provider_code = exc.status or None, exc.status_code
        return error
    if isinstance(exc, PublishingLimitReached):
        return PublishingLimitError(str(exc))
    return ProviderError(str(exc))


def image_url_problem(image_url: str | None) -> PublishInputError | None:
    """Instagram posts an image that Meta downloads: say so when there is none or it is private."""
    if not image_url:
        return PublishInputError(
            "Instagram no publica solo texto: envía image_url con la URL https pública de una "
            "imagen JPEG (por ejemplo, la secure_url de Cloudinary)."
        )
    problem = private_url_problem(image_url, "Meta")
    if problem:
        return PublishInputError(f"Instagram no podrá descargar image_url: {problem}")
    return None


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
