"""The course project's pipeline as a Python API: create, adapt, edit, publish, watch.

Notebooks and the web portal use this class; `/api/posts...` is a thin layer over it.

    pipeline = Pipeline.of(lab)
    post = pipeline.create_post("Retiro de materias", "Hasta el viernes 15 ...")
    pipeline.adapt(post["id"], ["linkedin", "whatsapp", "telegram"])
    pipeline.edit(post["id"], "linkedin", text="Texto corregido")
    pipeline.publish(post["id"])               # or publish_at=datetime(...) in the future
    pipeline.wait(post["id"])                  # the status once every job has finished
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from ..config import Settings
from ..errors import LabError
from ..publish import MAX_TEXT, validate
from ..publish import networks as registered_networks
from ..store import Store
from .jobs import Runtime
from .queues import Dispatcher, InProcessQueue, JobQueue, RQQueue
from .records import POST_STATUSES, Records

MAX_TITLE = 500
MAX_CONTENT = 20_000
#: Networks the model has no rules for are adapted with those of a close one (the text fits:
#: Telegram takes 4 096 characters, WhatsApp's version has at most 1 600).
ADAPT_AS = {"telegram": "whatsapp"}
#: Networks the kit publishes text only on (LinkedIn images need its Images API upload): the
#: post's image stays off their version, so one post with an image still reaches all six.
TEXT_ONLY = frozenset({"linkedin"})
#: Farthest `publish_at` accepted.
MAX_SCHEDULE = timedelta(days=365)
#: Longest account name (a connected account's id, a Telegram chat, a WhatsApp sender).
MAX_ACCOUNT = 200


class PipelineError(LabError):
    """A request the pipeline refuses; `status` is the HTTP status the API answers with."""

    status = 400


class PostNotFound(PipelineError):
    status = 404


class PublicationLocked(PipelineError):
    status = 409


def _adaptable(network: str) -> str:
    from ..llm.adaptation import LIMITS

    return network if network in LIMITS else ADAPT_AS.get(network, "")


def check_post(title: Any, content: Any, image_url: Any = None) -> tuple[str, str, str | None]:
    if not isinstance(title, str) or not title.strip():
        raise PipelineError('Falta el título: envía {"title": "...", "content": "..."}.')
    if len(title) > MAX_TITLE:
        raise PipelineError(f"El título tiene {len(title)} caracteres; el máximo es {MAX_TITLE}.")
    if not isinstance(content, str) or not content.strip():
        raise PipelineError("Falta el contenido: escribe el texto de la noticia en «content».")
    if len(content) > MAX_CONTENT:
        raise PipelineError(
            f"El contenido tiene {len(content)} caracteres; el máximo es {MAX_CONTENT}."
        )
    if "\x00" in title + content:
        raise PipelineError("El título y el contenido no pueden tener caracteres nulos.")
    if image_url in (None, ""):
        return title.strip(), content.strip(), None
    try:
        _, image_url = validate("x", image_url)
    except LabError as exc:
        raise PipelineError(str(exc)) from None
    return title.strip(), content.strip(), image_url


def parse_publish_at(value: Any, now: datetime) -> datetime | None:
    """`publish_at` as an aware UTC time, in the future (or None: now)."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise PipelineError(
            "publish_at debe ser una fecha ISO 8601 con zona horaria, por ejemplo "
            "2026-03-01T09:00:00-04:00."
        )
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PipelineError(f"publish_at={value[:40]!r} no es una fecha ISO 8601 válida.") from None
    if moment.tzinfo is None:
        raise PipelineError(
            "publish_at necesita zona horaria (por ejemplo -04:00 para Bolivia o Z para UTC)."
        )
    moment = moment.astimezone(timezone.utc)
    if moment <= now:
        raise PipelineError("publish_at ya pasó: usa una fecha futura u omítelo para publicar ya.")
    if moment > now + MAX_SCHEDULE:
        raise PipelineError("publish_at está a más de un año: elige una fecha más cercana.")
    return moment


def check_accounts(accounts: Any, networks: list[str]) -> dict[str, str]:
    """`accounts` as {network: account}, each network one the pipeline publishes to."""
    if accounts in (None, ""):
        return {}
    if not isinstance(accounts, dict):
        raise PipelineError(
            'accounts debe ser un objeto {"red": "cuenta"}, por ejemplo {"tiktok": "<open_id>"}.'
        )
    for network, account in accounts.items():
        if network not in networks:
            raise PipelineError(
                f"accounts: red desconocida o sin publicador: {str(network)[:40]!r}. "
                f"Disponibles: {', '.join(networks)}."
            )
        if (
            not isinstance(account, str)
            or not account.strip()
            or len(account) > MAX_ACCOUNT
            or not account.isprintable()
        ):
            raise PipelineError(
                f"accounts.{network} debe ser el id de la cuenta (texto de hasta "
                f"{MAX_ACCOUNT} caracteres, sin caracteres de control)."
            )
    return {network: account.strip() for network, account in accounts.items()}


class Pipeline:
    """Posts, their adaptations per network and their publication jobs, for one database."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        queue: JobQueue | None = None,
        runtime: Runtime | None = None,
        adapter: Callable[..., dict[str, dict[str, Any]]] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.records = Records(store)
        self.runtime = runtime or Runtime(settings, store, lease=settings.publish_lease)
        self.queue = queue or self._default_queue()
        self.dispatcher = Dispatcher(self.runtime, self.queue)
        self._adapter = adapter

    def _default_queue(self) -> JobQueue:
        # Stand-ins live in this process: workers elsewhere could not reach them.
        if self.settings.redis_url and not self.settings.sandboxed:
            return RQQueue(self.settings.redis_url, self.settings.lab_queue, self.runtime.lease)
        return InProcessQueue(self.runtime)

    @classmethod
    def of(cls, lab: Any) -> Pipeline:
        """The pipeline of a running lab (or of a Flask app built by `create_app`)."""
        app = getattr(lab, "context", lab)
        app = getattr(app, "app", app)
        return app.extensions["pipeline"]

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.runtime.clock

    def start(self) -> None:
        """Resume what a previous run left pending (scheduled posts, retries)."""
        self.dispatcher.wake()

    def stop(self) -> None:
        self.dispatcher.stop()
        self.queue.close()

    # -- posts --------------------------------------------------------------------------

    def create_post(
        self, title: Any, content: Any, image_url: Any = None, accounts: Any = None
    ) -> dict[str, Any]:
        """A draft post. `accounts` ({network: account}) picks who publishes it on each
        network (a class-wide lab holds every student's connections); the rest use the
        newest connection and the settings' chat and sender."""
        title, content, image_url = check_post(title, content, image_url)
        accounts = check_accounts(accounts, self.networks())
        self._check_connected(accounts)
        metadata = {"accounts": accounts} if accounts else {}
        post_id = self.records.create_post(title, content, image_url, self.clock(), metadata)
        return self.get_post(post_id)

    def _check_connected(self, accounts: dict[str, str]) -> None:
        """Refuse now, not at publishing time, an account that is not connected here."""
        from ..oauth import providers

        connectable = {provider.name for provider in providers.all()}
        for network, account in accounts.items():
            if network in connectable:
                try:
                    self.runtime.tokens.get(network, account)
                except LabError:
                    raise PipelineError(
                        f"La cuenta {account[:60]!r} de {network} no está conectada en este "
                        f"laboratorio: conéctala en /oauth/{network}/start (o `lab-server "
                        f"connect {network}`) o elige otra (`lab-server connections`)."
                    ) from None

    def list_posts(self, status: Any = None, limit: Any = 50, offset: Any = 0) -> list[dict]:
        if status not in (None, "") and status not in POST_STATUSES:
            raise PipelineError(f"status debe ser uno de: {', '.join(POST_STATUSES)}.")
        try:
            limit, offset = int(limit), int(offset)
        except (TypeError, ValueError):
            raise PipelineError("limit y offset deben ser números enteros.") from None
        if not 1 <= limit <= 500 or not 0 <= offset <= 10**9:
            raise PipelineError("limit va de 1 a 500 y offset de 0 en adelante.")
        return self.records.posts(status or None, limit, offset)

    def get_post(self, post_id: Any) -> dict[str, Any]:
        post = self.records.post(post_id) if isinstance(post_id, str) else None
        if post is None:
            raise PostNotFound(f"No existe la publicación {str(post_id)[:60]!r}.")
        post["publications"] = self.records.publications(post["id"])
        return post

    # -- adaptation and edits -----------------------------------------------------------

    def networks(self) -> list[str]:
        """Networks a post can go to here: a registered publisher the model can adapt for."""
        return [n for n in registered_networks() if _adaptable(n)]

    def _chosen(self, networks: Any) -> list[str]:
        available = self.networks()
        if networks in (None, ""):
            return available
        if not isinstance(networks, (list, tuple)) or not all(isinstance(n, str) for n in networks):
            example = available[0] if available else "linkedin"
            raise PipelineError(
                f'networks debe ser una lista de nombres, por ejemplo ["{example}"].'
            )
        chosen = list(dict.fromkeys(networks))
        if not chosen:
            raise PipelineError(f"Elige al menos una red: {', '.join(available)}.")
        for network in chosen:
            if network not in available:
                raise PipelineError(
                    f"Red desconocida o sin publicador: {str(network)[:40]!r}. "
                    f"Disponibles: {', '.join(available)}."
                )
        return chosen

    def adapt(self, post_id: Any, networks: Any = None) -> dict[str, Any]:
        """Ask the model for one version per network and keep them, editable, on the post."""
        post = self.get_post(post_id)
        chosen = self._chosen(networks)
        asked = list(dict.fromkeys(_adaptable(n) for n in chosen))
        adapt = self._adapter
        if adapt is None:
            from ..llm.adaptation import adapt
        versions = adapt(post["title"], post["content"], asked, settings=self.settings)
        from ..llm.adaptation import published_text

        now = self.clock()
        accounts = post["metadata"].get("accounts") or {}
        with self.store.transaction() as tx:
            for network in chosen:
                version = dict(versions[_adaptable(network)])
                metadata = {**version, "adapted_as": _adaptable(network)}
                if post["image_url"] and network not in TEXT_ONLY:
                    metadata["image_url"] = post["image_url"]
                if network in accounts:
                    metadata["account"] = accounts[network]
                self.records.upsert_adaptation(
                    tx, post["id"], network, published_text(version), metadata, now
                )
        return self.get_post(post["id"])

    def edit(self, post_id: Any, network: Any, text: Any = None, fields: Any = None) -> dict:
        """Change one network's version before it is published (`text`, other `fields`)."""
        post = self.get_post(post_id)
        publication = next((p for p in post["publications"] if p["network"] == network), None)
        if publication is None:
            raise PostNotFound(
                f"La publicación no tiene versión para {str(network)[:40]!r}: adáptala primero."
            )
        if publication["requested_at"] is not None:
            raise PublicationLocked(
                f"La versión de {network} ya se mandó a publicar: ya no se puede editar."
            )
        if text is None and fields is None:
            raise PipelineError('Envía "text" (el texto nuevo) y/o "fields" (un objeto).')
        if fields is not None and not isinstance(fields, dict):
            raise PipelineError('"fields" debe ser un objeto JSON, por ejemplo {"tone": "formal"}.')
        metadata = dict(publication["metadata"])
        if fields:
            if any(not isinstance(k, str) or len(k) > 60 for k in fields) or len(fields) > 20:
                raise PipelineError('"fields" admite hasta 20 campos con nombres cortos.')
            metadata.update(fields)
        new_text = publication["adapted_content"]
        if text is not None:
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
                raise PipelineError(
                    f'"text" debe ser un texto no vacío de hasta {MAX_TEXT} caracteres.'
                )
            if "\x00" in text:
                raise PipelineError('"text" no puede tener caracteres nulos.')
            new_text = text
            metadata["edited"] = True
            metadata["character_count"] = len(text)
        with self.store.transaction() as tx:
            if not self.records.update_publication(
                tx, publication["id"], new_text, metadata, self.clock()
            ):
                raise PublicationLocked(f"La versión de {network} ya se mandó a publicar.")
        return self.get_post(post["id"])

    # -- publishing ---------------------------------------------------------------------

    def publish(self, post_id: Any, networks: Any = None, publish_at: Any = None) -> dict[str, Any]:
        """Queue one job per adapted network (now, or at `publish_at`); safe to repeat."""
        post = self.get_post(post_id)
        now = self.clock()
        when = publish_at if isinstance(publish_at, datetime) else parse_publish_at(publish_at, now)
        adapted = {p["network"]: p for p in post["publications"]}
        if not adapted:
            raise PublicationLocked("Primero adapta la publicación (POST /api/posts/<id>/adapt).")
        chosen = list(adapted) if networks in (None, "") else self._chosen(networks)
        missing = [n for n in chosen if n not in adapted]
        if missing:
            raise PublicationLocked(f"Falta adaptar para: {', '.join(missing)}.")
        with self.store.transaction() as tx:
            for network in chosen:
                publication = adapted[network]
                if publication["status"] == "failed" and not publication["metadata"].get(
                    "uncertain"
                ):
                    tx.execute(
                        "UPDATE publications SET status = 'pending', requested_at = NULL, "
                        "retry_count = 0, error_message = NULL WHERE id = ? AND status = 'failed'",
                        (publication["id"],),
                    )
                self.records.request(
                    tx, publication["id"], when or now, now, scheduled=when is not None
                )
            self.records.refresh_post_status(tx, post["id"], now)
        if when is None:
            self.dispatcher.dispatch_once()
        self.dispatcher.wake()
        return self.status(post["id"])

    def status(self, post_id: Any) -> dict[str, Any]:
        """The post's status and each network's: what the dashboard shows."""
        post = self.get_post(post_id)
        return {
            "id": post["id"],
            "status": post["status"],
            "publications": {
                p["network"]: {
                    "status": p["status"],
                    "attempts": p["attempts"],
                    "retries": p["retry_count"],
                    "publish_at": p["publish_at"],
                    "published_at": p["published_at"],
                    "provider_id": p["provider_id"],
                    "url": p["provider_url"],
                    "error_message": p["error_message"],
                }
                for p in post["publications"]
            },
        }

    def wait(self, post_id: Any, timeout: float = 30.0) -> dict[str, Any]:
        """Block until no requested publication of the post is pending; its status."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(post_id)
            if status["status"] != "processing" or time.monotonic() > deadline:
                return status
            time.sleep(0.05)

    def log(self, post_id: str | None = None) -> list[dict[str, Any]]:
        """The JSONL publication log (of one post, if given)."""
        return self.runtime.log.read(post_id)
