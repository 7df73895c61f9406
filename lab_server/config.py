"""Configuration, loaded in one place: the environment first, then a `.env` file.

Every variable the kit reads is declared once in `VARIABLES`, with its default, whether
it is a secret and where a student gets it. `.env.example`, `lab-server doctor` and the
"missing credential" messages are all built from that table, so they cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values, find_dotenv

from .errors import MissingCredentialError, SettingsError


@dataclass(frozen=True)
class Variable:
    """One environment variable: the field it fills, its default and where to get it."""

    name: str
    field: str
    where: str
    default: str | None = None
    secret: bool = False
    service: str | None = None  # the outside service it belongs to, if any


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "LAB_DATA_DIR", "data_dir", "Carpeta local para la base SQLite y los registros.", ".lab"
    ),
    Variable(
        "DATABASE_URL",
        "database_url",
        "Vacío = SQLite en LAB_DATA_DIR/lab.db. PostgreSQL: postgresql://usuario@host:5432/base",
    ),
    Variable(
        "PUBLIC_BASE_URL",
        "public_base_url",
        "URL pública fija (https) si no usas el túnel de ngrok; Twilio firma con esta URL.",
    ),
    Variable("LAB_PORT", "port", "Puerto local del servidor del laboratorio.", "5000"),
    Variable(
        "LAB_API_TOKEN",
        "api_token",
        "Token para las rutas /api (cabecera Authorization: Bearer …); vacío = se genera uno "
        "y se guarda en LAB_DATA_DIR/api_token.",
        secret=True,
    ),
    Variable(
        "LAB_SANDBOX",
        "sandbox",
        "auto = sandbox para cada servicio sin credenciales; 1 = siempre; 0 = nunca.",
        "auto",
    ),
    Variable(
        "LAB_RESPONSES",
        "responses_path",
        "Ruta del archivo de respuestas; por defecto responses.json en la raíz del kit.",
    ),
    Variable(
        "NGROK_AUTHTOKEN",
        "ngrok_authtoken",
        "https://dashboard.ngrok.com/get-started/your-authtoken (cuenta gratuita).",
        secret=True,
        service="ngrok",
    ),
    Variable(
        "TWILIO_ACCOUNT_SID",
        "twilio_account_sid",
        "Consola de Twilio (https://console.twilio.com) > Account Info > Account SID.",
        service="twilio",
    ),
    Variable(
        "TWILIO_AUTH_TOKEN",
        "twilio_auth_token",
        "Consola de Twilio > Account Info > Auth Token (no uses una API key).",
        secret=True,
        service="twilio",
    ),
    Variable(
        "TWILIO_WHATSAPP_FROM",
        "twilio_whatsapp_from",
        "Número del sandbox de WhatsApp en la consola (Messaging > Try it out).",
        "whatsapp:+14155238886",
    ),
    Variable(
        "TWILIO_API_BASE",
        "twilio_api_base",
        "Base de la API REST de Twilio; el sandbox del kit la cambia por una local.",
        "https://api.twilio.com",
    ),
    Variable(
        "TWILIO_VALIDATE_SIGNATURE",
        "twilio_validate_signature",
        "1 = rechaza webhooks sin firma válida (recomendado); 0 solo para depurar.",
        "1",
    ),
    Variable(
        "OPENAI_API_KEY",
        "openai_api_key",
        "https://platform.openai.com/api-keys (o cualquier texto para Ollama/LM Studio).",
        secret=True,
        service="openai",
    ),
    Variable(
        "OPENAI_BASE_URL",
        "openai_base_url",
        "Servidor compatible con OpenAI: Ollama http://localhost:11434/v1, LM Studio :1234/v1.",
        "https://api.openai.com/v1",
    ),
    Variable(
        "OPENAI_MODEL",
        "openai_model",
        "Modelo a usar; lista los disponibles con client.models.list().",
        "gpt-5.4-mini",
    ),
    Variable(
        "OPENAI_IMAGE_MODEL",
        "openai_image_model",
        "Modelo de imágenes (opcional); devuelve la imagen en base64.",
        "gpt-image-2",
    ),
    Variable(
        "LLM_REPLIES",
        "llm_replies",
        "1 = el bot responde con el LLM; 0 = solo responses.json.",
        "1",
    ),
    Variable(
        "LLM_TIMEOUT",
        "llm_timeout",
        "Segundos máximos de espera al modelo dentro de un webhook (Twilio corta a los 15 s).",
        "8",
    ),
    Variable(
        "LLM_HISTORY", "llm_history", "Mensajes previos de la conversación que ve el modelo.", "10"
    ),
    Variable(
        "LLM_ACK_TEXT",
        "llm_ack_text",
        "Vacío = si el modelo tarda, responde con responses.json; con texto (p. ej. «Estoy "
        "pensando…»), envía ese aviso y luego la respuesta del modelo.",
    ),
    Variable(
        "TELEGRAM_BOT_TOKEN",
        "telegram_bot_token",
        "Habla con @BotFather en Telegram, /newbot, y copia el token.",
        secret=True,
        service="telegram",
    ),
    Variable(
        "TELEGRAM_SECRET_TOKEN",
        "telegram_secret_token",
        "Secreto propio (A-Z, a-z, 0-9, _ y -); `lab-server telegram set-webhook` lo genera.",
        secret=True,
    ),
    Variable(
        "TELEGRAM_API_BASE",
        "telegram_api_base",
        "Base de la Bot API; el sandbox del kit la cambia por una local.",
        "https://api.telegram.org",
    ),
    Variable(
        "META_APP_ID",
        "meta_app_id",
        "developers.facebook.com > Mis apps > tu app > Configuración de la app > Básica > "
        "Identificador de la app.",
        service="facebook",
    ),
    Variable(
        "META_APP_SECRET",
        "meta_app_secret",
        "La misma pantalla (Configuración de la app > Básica) > Clave secreta de la app.",
        secret=True,
        service="facebook",
    ),
    Variable(
        "GRAPH_API_VERSION",
        "graph_api_version",
        "Versión fija de la Graph API (Facebook e Instagram); v20.0 venció el 24-09-2026.",
        "v26.0",
    ),
    Variable(
        "GRAPH_API_BASE",
        "graph_api_base",
        "Base de la Graph API de Facebook; el sandbox del kit la cambia por una local.",
        "https://graph.facebook.com",
    ),
    Variable(
        "FACEBOOK_OAUTH_BASE",
        "facebook_oauth_base",
        "Base del diálogo de inicio de sesión de Facebook; el sandbox la cambia por una local.",
        "https://www.facebook.com",
    ),
    Variable(
        "INSTAGRAM_APP_ID",
        "instagram_app_id",
        "Tu app > Instagram > Configuración de la API con inicio de sesión de Instagram > "
        "Identificador de la app de Instagram.",
        service="instagram",
    ),
    Variable(
        "INSTAGRAM_APP_SECRET",
        "instagram_app_secret",
        "La misma pantalla > Clave secreta de la app de Instagram (no es la de Facebook).",
        secret=True,
        service="instagram",
    ),
    Variable(
        "INSTAGRAM_API_BASE",
        "instagram_api_base",
        "Base de la autorización de Instagram Login; el sandbox del kit la cambia por una local.",
        "https://api.instagram.com",
    ),
    Variable(
        "INSTAGRAM_GRAPH_BASE",
        "instagram_graph_base",
        "Base de la Graph API de Instagram; el sandbox del kit la cambia por una local.",
        "https://graph.instagram.com",
    ),
    Variable(
        "LAB_SECRET_KEY",
        "secret_key",
        "Opcional: secreto largo y aleatorio que cifra los tokens OAuth guardados; vacío = se "
        "genera uno en LAB_DATA_DIR/secret.key. Si lo cambias, vuelve a conectar tus cuentas.",
        secret=True,
    ),
    Variable(
        "LINKEDIN_CLIENT_ID",
        "linkedin_client_id",
        "https://www.linkedin.com/developers/apps > tu app > Auth > Client ID.",
        service="linkedin",
    ),
    Variable(
        "LINKEDIN_CLIENT_SECRET",
        "linkedin_client_secret",
        "https://www.linkedin.com/developers/apps > tu app > Auth > Primary Client Secret.",
        secret=True,
        service="linkedin",
    ),
    Variable(
        "LINKEDIN_VERSION",
        "linkedin_version",
        "Versión de la API de LinkedIn (AAAAMM) para la cabecera LinkedIn-Version; cada "
        "versión se retira después de un año más o menos.",
        "202601",
    ),
    Variable(
        "LINKEDIN_OAUTH_BASE",
        "linkedin_oauth_base",
        "Base de OAuth de LinkedIn (autorización y token); el sandbox del kit la cambia por una "
        "local.",
        "https://www.linkedin.com",
    ),
    Variable(
        "LINKEDIN_API_BASE",
        "linkedin_api_base",
        "Base de la API REST de LinkedIn; el sandbox del kit la cambia por una local.",
        "https://api.linkedin.com",
    ),
    Variable(
        "TIKTOK_CLIENT_KEY",
        "tiktok_client_key",
        "https://developers.tiktok.com/apps > tu app > Credentials > Client key.",
        service="tiktok",
    ),
    Variable(
        "TIKTOK_CLIENT_SECRET",
        "tiktok_client_secret",
        "https://developers.tiktok.com/apps > tu app > Credentials > Client secret.",
        secret=True,
        service="tiktok",
    ),
    Variable(
        "TIKTOK_PKCE_CHALLENGE",
        "tiktok_pkce_challenge",
        "Cómo se codifica el code_challenge de PKCE: hex (lo que la comunidad reporta que "
        "TikTok espera) o base64url (el estándar RFC 7636).",
        "hex",
    ),
    Variable(
        "TIKTOK_APP_AUDITED",
        "tiktok_app_audited",
        "true solo si TikTok ya auditó tu app: sin auditoría TikTok publica únicamente en "
        "privado (SELF_ONLY).",
        "false",
    ),
    Variable(
        "TIKTOK_OAUTH_BASE",
        "tiktok_oauth_base",
        "Base de la página de autorización de TikTok; el sandbox del kit la cambia por una local.",
        "https://www.tiktok.com",
    ),
    Variable(
        "TIKTOK_API_BASE",
        "tiktok_api_base",
        "Base de la API de TikTok (token, usuario y publicación); el sandbox del kit la cambia "
        "por una local.",
        "https://open.tiktokapis.com",
    ),
    Variable(
        "REDIS_URL",
        "redis_url",
        "Vacío = las publicaciones se hacen en este proceso. Con Redis (redis://host:6379/0) "
        "las hacen los procesos `lab-server worker`.",
    ),
    Variable("LAB_QUEUE", "lab_queue", "Nombre de la cola de RQ en Redis.", "lab-server"),
    Variable(
        "PUBLISH_LEASE_SECONDS",
        "publish_lease",
        "Segundos que un worker reserva una publicación; si muere, otro la retoma después.",
        "60",
    ),
    Variable(
        "TELEGRAM_CHANNEL",
        "telegram_channel",
        "Chat o canal donde se publican los posts: @mi_canal o el id numérico del chat.",
    ),
    Variable(
        "WHATSAPP_TEMPLATE_SID",
        "whatsapp_template_sid",
        "Opcional: ContentSid (HX...) de una plantilla aprobada para los contactos que no te "
        "escribieron en las últimas 24 h (Twilio Console > Content Template Builder).",
    ),
    Variable(
        "CLOUDINARY_URL",
        "cloudinary_url",
        "Opcional: https://console.cloudinary.com > API Keys > API environment variable.",
        secret=True,
    ),
)

BY_NAME: dict[str, Variable] = {v.name: v for v in VARIABLES}
#: Outside services that need credentials, in the order displays list them.
SERVICES: tuple[str, ...] = tuple(dict.fromkeys(v.service for v in VARIABLES if v.service))
SANDBOX_MODES = ("auto", "1", "0")
TRUE_WORDS = {"1", "true", "yes", "si", "sí", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def mask_secret(value: str | None) -> str:
    """Show only the last 4 characters of a secret, so it can be recognised but not copied."""
    if not value:
        return "(no definido)"
    if len(value) <= 4:
        return "•" * len(value)
    return "•" * 8 + value[-4:]


def mask_url(url: str) -> str:
    """The URL with its password hidden (user:••••@host, ?password=••••), safe to display.

    DATABASE_URL may carry a password, so every place that shows a URL goes through here.
    Any scheme is masked (postgresql+psycopg2://, mysql://, redis://…), supported or not:
    the URL is often shown precisely because it is wrong. Text that is not a URL comes back
    unchanged.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return re.sub(r"(?i)(password=)[^&#\s]*", r"\1••••", url)
    cut = min((i for i in map(rest.find, "/?#") if i != -1), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = userinfo.split(":", 1)[0] + ":••••@" + host
    tail = re.sub(r"(?i)([?&]password=)[^&#]*", r"\1••••", tail)
    return f"{scheme}://{netloc}{tail}"


def find_project_root(start: Path | None = None) -> Path | None:
    """The nearest folder upwards holding `responses.json` (notebooks run from notebooks/)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "responses.json").is_file():
            return folder
    return None


@dataclass(frozen=True)
class Settings:
    """Typed view of the configuration. Build it with `load_settings()`."""

    data_dir: Path
    database_url: str
    public_base_url: str | None
    port: int
    sandbox: str
    responses_path: Path
    #: LAB_API_TOKEN, or the token `auth.api_token` generated in LAB_DATA_DIR once the app starts
    api_token: str | None = field(default=None, repr=False)
    ngrok_authtoken: str | None = field(default=None, repr=False)
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_whatsapp_from: str = "whatsapp:+14155238886"
    twilio_api_base: str = "https://api.twilio.com"
    twilio_validate_signature: bool = True
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-5.4-mini"
    openai_image_model: str = "gpt-image-2"
    llm_replies: bool = True
    llm_timeout: float = 8.0
    llm_history: int = 10
    llm_ack_text: str | None = None
    telegram_bot_token: str | None = field(default=None, repr=False)
    telegram_secret_token: str | None = field(default=None, repr=False)
    telegram_api_base: str = "https://api.telegram.org"
    meta_app_id: str | None = None
    meta_app_secret: str | None = field(default=None, repr=False)
    graph_api_version: str = "v26.0"
    graph_api_base: str = "https://graph.facebook.com"
    facebook_oauth_base: str = "https://www.facebook.com"
    instagram_app_id: str | None = None
    instagram_app_secret: str | None = field(default=None, repr=False)
    instagram_api_base: str = "https://api.instagram.com"
    instagram_graph_base: str = "https://graph.instagram.com"
    cloudinary_url: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    linkedin_client_id: str | None = None
    linkedin_client_secret: str | None = field(default=None, repr=False)
    linkedin_version: str = "202601"
    linkedin_oauth_base: str = "https://www.linkedin.com"
    linkedin_api_base: str = "https://api.linkedin.com"
    tiktok_client_key: str | None = None
    tiktok_client_secret: str | None = field(default=None, repr=False)
    tiktok_pkce_challenge: str = "hex"
    tiktok_app_audited: bool = False
    tiktok_oauth_base: str = "https://www.tiktok.com"
    tiktok_api_base: str = "https://open.tiktokapis.com"
    redis_url: str | None = field(default=None, repr=False)
    lab_queue: str = "lab-server"
    publish_lease: float = 60.0
    telegram_channel: str | None = None
    whatsapp_template_sid: str | None = None
    #: services answered by the classroom sandbox (set by `Sandbox.apply`, never by the user)
    sandboxed: frozenset[str] = frozenset()
    #: (channel, address) of the sandbox's demo contacts, used until real people write
    #: (set by `Sandbox.apply`, never by the user)
    demo_contacts: tuple[tuple[str, str], ...] = ()

    def require(self, name: str) -> str:
        """The value of variable `name`, or a `MissingCredentialError` saying where to get it."""
        var = BY_NAME[name]
        value = getattr(self, var.field)
        if value in (None, ""):
            raise MissingCredentialError(var.name, var.where)
        return str(value)

    def missing(self, service: str) -> list[str]:
        """Names of the credentials of `service` that are not set."""
        return [v.name for v in VARIABLES if v.service == service and not getattr(self, v.field)]

    def with_values(self, values: Mapping[str, str]) -> Settings:
        """A copy with some variables replaced (by env var name), parsed like the environment."""
        changes = {
            BY_NAME[name].field: _parse(BY_NAME[name], value) for name, value in values.items()
        }
        return dataclasses.replace(self, **changes)

    def is_sandboxed(self, service: str) -> bool:
        return service in self.sandboxed


def _parse(var: Variable, raw: str | None):
    """Turn the text of one variable into its typed value, or raise a `SettingsError`."""
    if raw is None or raw == "":
        raw = var.default
    if raw is None:
        return None
    raw = raw.strip()
    kind = Settings.__dataclass_fields__[var.field].type
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            value = float(raw)
            if value <= 0:
                raise ValueError
            return value
        if kind == "bool":
            word = raw.lower()
            if word in TRUE_WORDS | FALSE_WORDS:
                return word in TRUE_WORDS
            raise ValueError
    except ValueError:
        raise SettingsError(var.name, raw, "un valor válido (" + var.where + ")") from None
    if var.name == "LAB_SANDBOX" and raw.lower() not in SANDBOX_MODES:
        raise SettingsError(var.name, raw, "auto, 1 o 0")
    return raw.lower() if var.name == "LAB_SANDBOX" else raw


def read_environment(dotenv_path: str | Path | None = None) -> dict[str, str]:
    """The process environment over the `.env` file (found upwards from the current folder).

    `LAB_ENV_FILE` picks another file; `LAB_ENV_FILE=none` reads no file (the test suite).
    """
    chosen = os.environ.get("LAB_ENV_FILE")
    if dotenv_path is None and chosen:
        dotenv_path = None if chosen.lower() == "none" else chosen
    elif dotenv_path is None:
        dotenv_path = find_dotenv(usecwd=True) or None
    from_file = {k: v for k, v in dotenv_values(dotenv_path).items() if v} if dotenv_path else {}
    return {**from_file, **os.environ}


def load_settings(
    env: Mapping[str, str] | None = None, dotenv_path: str | Path | None = None
) -> Settings:
    """Build the settings. `env` replaces the environment entirely (tests pass their own)."""
    source = read_environment(dotenv_path) if env is None else dict(env)
    values = {v.field: _parse(v, source.get(v.name)) for v in VARIABLES}
    # From a notebook or the repository: the folder upwards; elsewhere, the kit's own checkout.
    root = find_project_root() or find_project_root(Path(__file__).parent) or Path.cwd()
    data_dir = Path(values["data_dir"]).expanduser()
    if not data_dir.is_absolute():
        data_dir = root / data_dir
    values["data_dir"] = data_dir
    values["database_url"] = values["database_url"] or f"sqlite:///{data_dir / 'lab.db'}"
    responses = values["responses_path"]
    values["responses_path"] = Path(responses) if responses else root / "responses.json"
    if values["public_base_url"]:
        values["public_base_url"] = values["public_base_url"].rstrip("/")
    return Settings(**values)
