"""Demo data: the course's three required test cases as draft posts (`lab-server db seed`)."""

from __future__ import annotations

from ..store import Store
from .jobs import utcnow
from .records import Records

#: A corporate news item, a product launch and an event (the course spec's three cases).
SEED_POSTS = (
    (
        "La universidad amplía el plazo de retiro de materias",
        "La Dirección Académica informa que el plazo para el retiro de materias se amplía "
        "hasta el viernes 15. El trámite se hace en el portal del estudiante, sin costo. "
        "Después de esa fecha no se aceptarán solicitudes.",
    ),
    (
        "Nueva app del campus: horarios, notas y biblioteca en tu celular",
        "Desde el lunes está disponible la app oficial del campus para Android e iOS. Permite "
        "ver horarios, notas y reservar libros de la biblioteca. Se descarga gratis con el "
        "correo institucional.",
    ),
    (
        "Feria de proyectos de Inteligencia Artificial: 28 de noviembre",
        "Los estudiantes de Tópicos Avanzados presentan sus proyectos con modelos de lenguaje "
        "el jueves 28 de noviembre, de 9:00 a 13:00, en el auditorio central. Entrada libre.",
    ),
)


def seed(store: Store) -> list[str]:
    """Add the demo posts that are not there yet (by title); the ids of those added."""
    records = Records(store)
    with store.transaction(write=False) as tx:
        titles = {row[0] for row in tx.execute("SELECT title FROM posts").fetchall()}
    return [
        records.create_post(title, content, None, utcnow())
        for title, content in SEED_POSTS
        if title not in titles
    ]
