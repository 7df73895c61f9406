"""The simulated model behind the OpenAI stand-in: no model, but every lesson shows.

It does not understand text. It reads what a lesson changes and makes that change visible:
a name given earlier in the conversation is recalled; the system prompt's instructions set
the language (Spanish/English), the length, tú or usted, a list or prose, emoji or none;
`temperature` swaps wordings (never at 0, more at higher values, odd words near 2); and a
piece of news is adapted per network after the course's table (length window, tone,
hashtags, emoji, the network's extra field), reading per-network lines of the prompt.

Everything is deterministic: the same request gives the same answer, because the choices
come from a random generator seeded with the request (messages, model, temperature, seed,
choice index). Free text always starts with «[sandbox]».
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MARK = "[sandbox]"
#: The course's network table (course-context.md, lectures/clase-03): hard limits.
NETWORK_LIMITS = {
    "facebook": 63206,
    "instagram": 2200,
    "linkedin": 3000,
    "tiktok": 2200,
    "whatsapp": 4096,
}
#: Length window a good post aims at when the prompt does not say (practical figures).
WINDOWS = {
    "facebook": (300, 500),
    "instagram": (250, 600),
    "linkedin": (700, 1300),
    "tiktok": (60, 150),
    "whatsapp": (200, 300),
}
HASHTAGS = {"facebook": 3, "instagram": 10, "linkedin": 4, "tiktok": 5, "whatsapp": 0}
EMOJI = {"facebook": True, "instagram": True, "linkedin": False, "tiktok": True, "whatsapp": True}
STOPWORDS = set(
    [
        "para",
        "como",
        "sobre",
        "desde",
        "hasta",
        "entre",
        "donde",
        "cuando",
        "porque",
        "también",
        "través",
        "mismo",
        "misma",
        "estas",
        "estos",
        "esta",
        "este",
        "están",
        "pueden",
        "puede",
        "podrán",
        "permitirá",
        "tiene",
        "tienen",
        "hacer",
        "harán",
        "quienes",
        "quiera",
        "quieran",
        "todas",
        "todos",
        "toda",
        "todo",
        "cada",
        "their",
        "there",
        "which",
        "about",
        "with",
        "from",
        "that",
        "this",
        "will",
        "have",
        "into",
        "your",
    ]
)


# -- style: what the instructions ask for ----------------------------------------------


@dataclass(frozen=True)
class Style:
    """What instructions ask of the answer; None where they say nothing."""

    language: str | None = None  # "es" | "en"
    length: str | None = None  # "short" | "long"
    formal: bool | None = None  # usted (True) or tú (False)
    bullets: bool | None = None
    emoji: bool | None = None

    def over(self, base: Style) -> Style:
        """This style, with `base` filling what this one leaves open."""
        return Style(
            **{
                name: getattr(self, name)
                if getattr(self, name) is not None
                else getattr(base, name)
                for name in ("language", "length", "formal", "bullets", "emoji")
            }
        )


NEGATION = (
    r"(?:sin|no\s+uses?|no\s+incluyas?|nunca|evita|without|no|avoid|never\s+use)\s+(?:\w+\s+){0,2}"
)


def _last(text: str, patterns: dict[Any, str]) -> Any:
    """The value whose pattern matches last in `text` (later instructions win)."""
    best, where = None, -1
    for value, pattern in patterns.items():
        for match in re.finditer(pattern, text):
            if match.start() > where:
                best, where = value, match.start()
    return best


def style_of(text: str) -> Style:
    """The style the instructions in `text` ask for."""
    t = text.lower()
    language = _last(
        t,
        {
            "en": r"in english|en ingl[eé]s|\bingl[eé]s\b",
            "es": r"en espa[nñ]ol|in spanish|\bcastellano\b",
        },
    )
    length = _last(
        t,
        {
            "short": r"\bbrev[ei]|\bcort[oa]\b|una (?:sola )?(?:frase|oraci[oó]n|l[ií]nea)|"
            r"conciso|concisa|\bshort\b|\bbrief\b|\bconcise\b|one sentence",
            "long": r"detallad|\bextens[oa]|\blarg[oa]\b|a fondo|en profundidad|\bdetailed\b|"
            r"in depth|\bthorough|\blong\b|varios p[aá]rrafos",
        },
    )
    formal = _last(
        t,
        {
            True: r"\busted(?:es)?\b|\bformal(?:mente)?\b|\bformal register\b",
            False: r"\binformal\b|\btute[ao]|\bde t[uú]\b|\bt[uú]\b|tono cercano|\bamigable\b|"
            r"\bcasual\b",
        },
    )
    bullets = _last(
        t,
        {
            False: NEGATION + r"(?:listas?|vi[ñn]etas|bullets?)\b|\bprosa\b|\bp[aá]rrafo\b|"
            r"\bprose\b|\bparagraph\b",
            True: r"(?<!sin )(?<!no uses )\b(?:en (?:una )?lista|vi[ñn]etas|bullets?|"
            r"bullet points|enum[eé]ra|as a list|in a list)\b",
        },
    )
    if re.search(NEGATION + r"emojis?\b|\bemoji-free\b", t):
        emoji: bool | None = False
    elif re.search(r"\bemojis?\b|\bemoticon", t):
        emoji = True
    else:
        emoji = None
    return Style(language, length, formal, bullets, emoji)


def english(text: str) -> bool:
    """A rough guess that `text` is English (for a user who writes in English)."""
    words = re.findall(r"[a-záéíóúñ']+", text.lower())
    en = sum(w in {"the", "is", "what", "how", "my", "you", "are", "and", "of", "i"} for w in words)
    es = sum(w in {"el", "la", "es", "qué", "cómo", "mi", "de", "y", "que", "un"} for w in words)
    return en > es


# -- temperature: seeded variation -----------------------------------------------------


class Dice:
    """Seeded choices: temperature 0 always takes the first option, higher takes others."""

    WILD = {
        "es": ["(¡como un colibrí cuántico!)", "—dijo la tetera filosófica—", "¡zas, confeti!"],
        "en": [
            "(like a quantum hummingbird!)",
            "—said the philosophical teapot—",
            "zap, confetti!",
        ],
    }

    def __init__(self, key: Any, temperature: float) -> None:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).digest()
        self.rng = random.Random(digest)
        self.temperature = max(0.0, float(temperature))

    def pick(self, options: Sequence[str]) -> str:
        """The first option at temperature 0; another one more often as it rises."""
        if self.temperature <= 0 or len(options) == 1:
            return options[0]
        if self.rng.random() < min(1.0, self.temperature / 1.4):
            return self.rng.choice(list(options[1:]))
        return options[0]

    def wild(self, language: str) -> str:
        """An odd aside, only near temperature 2 (where real models ramble)."""
        if self.temperature >= 1.5 and self.rng.random() < (self.temperature - 1.3):
            return " " + self.rng.choice(self.WILD[language])
        return ""


def register(text: str, formal: bool) -> str:
    """Fill `{tú form|usted form}` alternations."""
    return re.sub(r"\{([^{}|]*)\|([^{}|]*)\}", lambda m: m.group(2 if formal else 1), text)


# -- chat: what the bot says -------------------------------------------------------------

#: Topics the simulated model "knows": keywords, emoji, then sentences with wordings.
TOPICS: dict[str, dict[str, Any]] = {
    "llm": {
        "keys": r"\bllms?\b|modelo de lenguaje|language model|\bgpt\b|chatgpt",
        "emoji": "🤖",
        "es": [
            [
                "Un LLM es un modelo de lenguaje entrenado con muchísimo texto para predecir la "
                "siguiente palabra.",
                "Un LLM (modelo de lenguaje grande) aprende de enormes cantidades de texto a "
                "adivinar qué palabra sigue.",
                "Un LLM es, en el fondo, un predictor de la siguiente palabra entrenado con "
                "montañas de texto.",
            ],
            [
                "Con eso {te|le} puede responder preguntas, resumir y redactar.",
                "Así logra contestar, resumir y escribir textos nuevos.",
                "Gracias a eso conversa, resume y redacta.",
            ],
            [
                "No busca en una base de datos: genera cada respuesta palabra por palabra.",
                "No consulta internet por sí solo: arma la respuesta token a token.",
            ],
            [
                "Por eso {conviene que revises|conviene que revise} lo que dice: a veces inventa "
                "datos.",
                "Ojo: puede equivocarse con seguridad, así que {verifica|verifique} los datos.",
            ],
        ],
        "en": [
            [
                "An LLM is a language model trained on a huge amount of text to predict the next "
                "word.",
                "An LLM (large language model) learns from vast text to guess which word comes "
                "next.",
            ],
            ["That lets it answer questions, summarise and write.", "So it can chat and draft."],
            ["It does not look things up: it generates each answer token by token."],
            ["So check what it says: it sometimes makes facts up."],
        ],
    },
    "retiro": {
        "keys": r"retir|dar de baja|drop (?:a )?(?:course|class)",
        "emoji": "📚",
        "es": [
            [
                "{Puedes|Puede} retirar una materia desde el portal académico, en «Retiro de "
                "materias».",
                "El retiro de materias se hace en el portal académico, opción «Retiro de "
                "materias».",
            ],
            [
                "{Hazlo|Hágalo} antes de la fecha límite del calendario académico.",
                "La fecha límite está en el calendario académico.",
            ],
            [
                "Si {tienes|tiene} dudas, la jefatura de carrera {te|le} ayuda.",
                "Para casos especiales, {consulta|consulte} a la jefatura de carrera.",
            ],
            ["Revisa antes cómo afecta a tus créditos del semestre."],
        ],
        "en": [
            ["Courses are dropped in the academic portal, under «Retiro de materias»."],
            ["Do it before the deadline in the academic calendar."],
            ["If in doubt, ask the head of your programme."],
            ["Check first how it affects your credits this term."],
        ],
    },
    "webhook": {
        "keys": r"webhook|twilio|whatsapp|telegram|\bbot\b",
        "emoji": "🔗",
        "es": [
            [
                "Un webhook es una URL de tu servidor a la que el servicio envía cada mensaje.",
                "Con un webhook, el servicio llama a tu servidor cada vez que llega un mensaje.",
            ],
            [
                "Tu bot responde en esa misma petición o después por la API.",
                "La respuesta sale en la misma petición o más tarde por la API REST.",
            ],
            ["Twilio espera como mucho 15 segundos la respuesta del webhook."],
            ["Valida la firma de cada petición para saber que viene del servicio."],
        ],
        "en": [
            ["A webhook is a URL on your server that the service calls with each message."],
            ["Your bot answers in that same request or later through the API."],
            ["Twilio waits at most 15 seconds for the webhook's answer."],
            ["Validate each request's signature to know it comes from the service."],
        ],
    },
    "greeting": {
        "keys": r"^\s*(?:hola|buen[oa]s|hello|hi|hey)\b",
        "emoji": "👋",
        "es": [
            ["¡Hola! ¿En qué {te|le} ayudo hoy?", "¡Hola! ¿Qué {necesitas|necesita}?", "¡Buenas!"],
            ["{Puedes|Puede} preguntarme sobre el curso, el bot o el retiro de materias."],
            ["Estoy para ayudar{te|le}."],
            ["Soy un modelo simulado del sandbox del curso."],
        ],
        "en": [
            ["Hi! How can I help you today?", "Hello! What do you need?"],
            ["You can ask me about the course, the bot or dropping a course."],
            ["I am here to help."],
            ["I am a simulated model from the course sandbox."],
        ],
    },
    "general": {
        "keys": r"",
        "emoji": "💡",
        "es": [
            [
                "Soy el modelo simulado del sandbox: no entiendo el texto, pero sigo las "
                "instrucciones del sistema (idioma, largo, tono y formato).",
                "Este es el modelo simulado del curso: no razona, pero respeta el idioma, el "
                "largo, el tono y el formato que pide el prompt de sistema.",
                "Te habla el modelo de mentira del sandbox: no comprende, pero obedece las "
                "instrucciones de formato del sistema.",
            ],
            [
                "Con un modelo real (OpenAI, Ollama o LM Studio) aquí llegaría su respuesta.",
                "Con OPENAI_BASE_URL apuntando a un modelo real, la respuesta sería de verdad.",
            ],
            [
                "{Prueba|Pruebe} a cambiar el prompt de sistema o la temperatura y "
                "{compara|compare}.",
                "{Cambia|Cambie} las instrucciones y {mira|mire} qué cambia en la respuesta.",
            ],
            ["Recuerda también lo que {me dijiste|me dijo} antes en esta conversación."],
        ],
        "en": [
            [
                "I am the sandbox's simulated model: I do not understand text, but I follow the "
                "system instructions (language, length, tone and format).",
                "This is the course's fake model: it does not reason, but it follows the system "
                "prompt's language, length, tone and format.",
            ],
            ["With a real model (OpenAI, Ollama or LM Studio) its answer would arrive here."],
            ["Try changing the system prompt or the temperature and compare."],
            ["I also remember what you told me earlier in this conversation."],
        ],
    },
}

NAME_GIVEN = re.compile(
    r"(?:(?i:\bme llamo|\bmi nombre es|\bsoy|\bmy name is|\bi'?m|\bi am|\bcall me|"
    r"\bd[ií]me))\s+([A-ZÁÉÍÓÚÑ][a-záéíóúñ]+)"
)
NAME_ASKED = re.compile(
    r"(?i)c[oó]mo me llamo|cu[aá]l es mi nombre|sabes mi nombre|recuerdas mi nombre|"
    r"what(?:'s| is) my name|(?:know|remember) my name|qui[eé]n soy"
)


def text_of(content: Any) -> str:
    """The text of a message `content`: a string or a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [part.get("text", "") for part in content if isinstance(part, dict)]
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def quoted(text: str, limit: int = 120) -> str:
    said = " ".join(text.split())
    return said if len(said) <= limit else said[: limit - 1] + "…"


def chat_reply(messages: list[dict], dice: Dice) -> str:
    """The simulated model's answer to a conversation."""
    system = "\n".join(
        text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer")
    )
    users = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    last = users[-1] if users else ""
    style = style_of(system)
    language = style.language or ("en" if english(last) else "es")
    formal = bool(style.formal) and language == "es"
    name_answer = recall_name(users, language)
    if name_answer:
        return f"{MARK} {register(name_answer, formal)}"
    topic = next(
        (t for name, t in TOPICS.items() if name != "general" and re.search(t["keys"], last, re.I)),
        TOPICS["general"],
    )
    sentences = [dice.pick(variants) for variants in topic[language]]
    count = {"short": 1, None: 2, "long": len(sentences)}[style.length]
    chosen = [register(s, formal) for s in sentences[:count]]
    if style.emoji:
        chosen = [f"{s} {topic['emoji']}" for s in chosen]
    given = NAME_GIVEN.search(last)
    about = dice.pick(
        {
            "es": [
                "Sobre «{q}»:",
                "Respecto a «{q}»:",
                "{Me preguntas|Me pregunta} «{q}».",
                "«{q}»:",
            ],
            "en": ["About «{q}»:", "Regarding «{q}»:", "You asked «{q}»."],
        }[language]
    )
    opening = register(about.replace("{q}", " ".join(last.split())), formal)  # whole, as sent
    if given:
        hello = {"es": "¡Mucho gusto, {}!", "en": "Nice to meet you, {}!"}[language]
        opening = hello.format(given.group(1)) + " " + opening
    if style.bullets:
        body = "\n".join(f"- {s}" for s in chosen)
        answer = f"{MARK} {opening}\n{body}"
    else:
        answer = f"{MARK} {opening} {' '.join(chosen)}"
    if style.length == "long":
        answer += (
            "\n\n"
            + {
                "es": register("¿{Quieres|Quiere} que profundice en algún punto?", formal),
                "en": "Would you like me to go deeper into any point?",
            }[language]
        )
    return answer + dice.wild(language)


def recall_name(users: list[str], language: str) -> str | None:
    """The answer to "what is my name?", from the conversation only (the memory lesson)."""
    if not users or not NAME_ASKED.search(users[-1]):
        return None
    names = [m.group(1) for text in users[:-1] for m in NAME_GIVEN.finditer(text)]
    if names:
        return {
            "es": "Te llamas {n}: me lo {dijiste|dijo} antes en esta conversación.",
            "en": "Your name is {n}: you told me earlier in this conversation.",
        }[language].replace("{n}", names[-1])
    return {
        "es": "No lo sé: en esta conversación no {me has dicho|me ha dicho} tu nombre. Un "
        "modelo solo recuerda lo que viaja en `messages`.",
        "en": "I don't know: you have not told me your name in this conversation. A model only "
        "remembers what travels in `messages`.",
    }[language]


# -- adaptation: one piece of news per network ------------------------------------------


@dataclass(frozen=True)
class NetworkRules:
    """What the prompt asks of one network's post."""

    window: tuple[int, int]
    hashtags: int
    emoji: bool
    style: Style
    tone: str | None = None


def _number(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


NUM = r"(\d[\d\u00a0\u202f .]*\d|\d)"


def network_rules(prompt: str, network: str) -> NetworkRules:
    """Rules for `network` from its own lines of the prompt, else the course defaults."""
    lines = prompt.splitlines()
    named = re.compile(rf"\b{network}\b", re.I)
    others = re.compile(r"\b(?:" + "|".join(NETWORK_LIMITS) + r")\b", re.I)
    own = "\n".join(line for line in lines if named.search(line))
    general = "\n".join(line for line in lines if not others.search(line))
    style = style_of(own).over(style_of(general))
    low, high = WINDOWS[network]
    own_low = own.lower()
    span = re.search(
        rf"(?:de|entre|between|from)\s+{NUM}\s+(?:a|y|and|to|-)\s+{NUM}\s+"
        r"(?:caracteres|characters)",
        own_low,
    )
    most = re.search(
        rf"(?:hasta|m[aá]ximo|como m[aá]ximo|no m[aá]s de|up to|at most|maximum)\s+{NUM}\s+"
        r"(?:caracteres|characters)",
        own_low,
    )
    if span:
        low, high = sorted((_number(span.group(1)), _number(span.group(2))))
    elif most:
        cap = _number(most.group(1))
        low, high = min(low, cap * 3 // 5), min(high, cap)
    if style.length == "short" and not span:
        low, high = low // 2, max(low // 2 + 40, high // 2)
    elif style.length == "long" and not span:
        low, high = high, min(NETWORK_LIMITS[network] - 200, high * 2)
    tags = HASHTAGS[network]
    if re.search(r"sin hashtags|without hashtags|no hashtags|ning[uú]n hashtag", own_low):
        tags = 0
    else:
        cap = re.search(r"(?:hasta|m[aá]ximo|up to|at most)\s+(\d+)\s+hashtags", own_low)
        exact = re.search(r"(?<!hasta )(?<!máximo )\b(\d+)\s+hashtags", own_low)
        if exact and not cap:
            tags = int(exact.group(1))
        elif cap:
            tags = min(tags, int(cap.group(1)))
    emoji = EMOJI[network] if style.emoji is None else style.emoji
    tone = re.search(r"\btono\s+(?:muy\s+)?([a-záéíóúñ]+)|\b([a-z]+)\s+tone\b", own_low)
    named_tone = next((g for g in tone.groups() if g), None) if tone else None
    return NetworkRules((low, high), tags, emoji, style, named_tone)


#: Per-network wordings; `{t}` is the title. Spanish and English.
PHRASES: dict[str, dict[str, dict[str, list[str]]]] = {
    "facebook": {
        "es": {
            "open": ["📢 ", "🎉 ", "👉 "],
            "close": [
                "¿Qué {opinas|opina}? {Cuéntanos|Cuéntenos} en los comentarios.",
                "{Comparte|Comparta} esta noticia con quien le pueda interesar.",
                "{Déjanos tus|Déjenos sus} preguntas en los comentarios.",
            ],
            "fill": [
                "Es una gran noticia para toda la comunidad universitaria.",
                "Te contamos los detalles para que no te pierdas nada.",
                "Sigue nuestra página para enterarte de más novedades.",
            ],
        },
        "en": {
            "open": ["📢 ", "🎉 "],
            "close": ["What do you think? Tell us in the comments.", "Share this news."],
            "fill": [
                "Great news for the whole university community.",
                "Here are the details so you don't miss a thing.",
                "Follow our page for more news.",
            ],
        },
    },
    "instagram": {
        "es": {
            "open": ["✨ ", "📸 ", "🌟 "],
            "close": [
                "📌 {Guarda|Guarde} este post y {compártelo|compártalo}.",
                "💬 {Cuéntanos|Cuéntenos} qué {opinas|opina}.",
                "👉 Más información en el enlace de la bio.",
            ],
            "fill": ["Un paso más para nuestra comunidad.", "¡Te esperamos!"],
        },
        "en": {
            "open": ["✨ ", "📸 "],
            "close": ["📌 Save this post and share it.", "💬 Tell us what you think."],
            "fill": ["One more step for our community.", "See you there!"],
        },
    },
    "linkedin": {
        "es": {
            "open": [
                "Una noticia que vale la pena compartir.",
                "Hoy compartimos un avance importante para nuestra comunidad.",
                "Nos enorgullece anunciar un nuevo paso.",
            ],
            "close": [
                "¿Cómo creen que esto impactará en su sector? Los leemos en los comentarios.",
                "Agradecemos a todas las personas que lo hicieron posible.",
                "Seguiremos trabajando para acercar la universidad y el mundo profesional.",
            ],
            "fill": [
                "Esta iniciativa refuerza nuestro compromiso con la formación de profesionales "
                "preparados para los desafíos actuales.",
                "La colaboración entre la academia y la sociedad es clave para generar valor.",
                "Creemos en el aprendizaje aplicado, conectado con necesidades reales.",
                "Invitamos a nuestra red a conocer más y a sumarse a esta iniciativa.",
            ],
        },
        "en": {
            "open": ["News worth sharing.", "Today we share an important step forward."],
            "close": ["How do you think this will impact your field?"],
            "fill": [
                "This initiative strengthens our commitment to preparing professionals for "
                "today's challenges.",
                "Collaboration between academia and society is key to creating value.",
                "We believe in applied learning connected to real needs.",
            ],
        },
    },
    "tiktok": {
        "es": {
            "open": ["🔥 ", "👀 ", "🚀 "],
            "close": ["¡No te lo pierdas!", "Mira el video 👇", "Te lo contamos en 15 segundos."],
            "fill": ["¡Dale like!"],
            "hook": ["¿Sabías esto? {t}", "Espera a ver esto: {t}", "¡Atención! {t}"],
        },
        "en": {
            "open": ["🔥 ", "👀 "],
            "close": ["Don't miss it!", "Watch the video 👇"],
            "fill": ["Like it!"],
            "hook": ["Did you know? {t}", "Wait for it: {t}"],
        },
    },
    "whatsapp": {
        "es": {
            "open": ["¡Hola! 👋 ", "Hola 😊 ", "¡Buenas! 🙌 "],
            "close": [
                "¿{Te|Le} interesa? {Respóndeme|Respóndame} y {te|le} cuento más.",
                "¿{Quieres|Quiere} más detalles? {Escríbeme|Escríbame}.",
            ],
            "fill": ["{Te|Le} aviso apenas haya novedades."],
        },
        "en": {
            "open": ["Hi! 👋 ", "Hello 😊 "],
            "close": ["Interested? Reply and I'll tell you more.", "Want details? Text me."],
            "fill": ["I'll let you know as soon as there is news."],
        },
    },
}
EXTRA_TAGS = {
    "facebook": [],
    "instagram": ["#VidaUniversitaria", "#Universidad", "#Bolivia", "#Estudiantes"],
    "linkedin": ["#Educación", "#Innovación"],
    "tiktok": ["#ParaTi", "#Universidad"],
    "whatsapp": [],
}
EMOJI_RE = re.compile(
    "[\U0001f300-\U0001faff\u2600-\u27bf\u2b50\u2728]\ufe0f?\\s?", flags=re.UNICODE
)


def sentences(content: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", " ".join(content.split())) if s]


def hashtags(title: str, content: str, network: str, count: int) -> list[str]:
    """`count` hashtags from the news's longer words, then the network's usual ones."""
    words = re.findall(r"[^\W\d_]{5,}", f"{title} {content}")
    tags: list[str] = []
    for word in words:
        tag = "#" + word[0].upper() + word[1:]
        if word.lower() not in STOPWORDS and tag.lower() not in {t.lower() for t in tags}:
            tags.append(tag)
    tags = tags[: max(0, count - min(2, len(EXTRA_TAGS[network])))]
    tags += [t for t in EXTRA_TAGS[network] if t.lower() not in {x.lower() for x in tags}]
    return tags[:count]


def _fit(
    head: str,
    parts: list[str],
    fill: list[str],
    tail: str,
    window: tuple[int, int],
    joiner: str = " ",
) -> str:
    """`head` + as many `parts` as fit + `tail`, padded with `fill` up to the window."""
    low, high = window
    body: list[str] = []
    for part in parts:
        if len(joiner.join([head, *body, part, tail])) <= high:
            body.append(part)
        elif not body and len(joiner.join([head, tail])) + 20 < high:
            room = high - len(joiner.join([head, tail])) - 2
            body.append(part[:room].rsplit(" ", 1)[0] + "…")
            break
        else:
            break
    for extra in fill:
        if len(joiner.join([head, *body, tail])) >= low:
            break
        if len(joiner.join([head, *body, extra, tail])) <= high:
            body.append(extra)
    text = joiner.join(p for p in [head, *body, tail] if p)
    return text


def adapt_post(
    network: str,
    title: str,
    content: str,
    rules: NetworkRules,
    dice: Dice,
    fields: Sequence[str],
) -> dict[str, Any]:
    """One network's post with the fields asked for, after the network's rules."""
    language = rules.style.language or "es"
    formal = bool(rules.style.formal) and language == "es"
    words = PHRASES[network][language]

    def say(options: list[str]) -> str:
        text = register(dice.pick(options), formal)
        return text if rules.emoji else EMOJI_RE.sub("", text).strip()

    title = " ".join(title.split())
    stop = "" if title.endswith((".", "!", "?", "»")) else "."
    parts = sentences(content)
    open_ = say(words["open"])
    if network == "linkedin":
        text = _fit(f"{MARK} {open_}\n\n{title}{stop}", parts, words["fill"], "", rules.window)
        text += "\n\n" + say(words["close"])
    elif network == "instagram":
        head = f"{MARK} {open_}{title}{' ✨' if rules.emoji else ''}\n"
        text = _fit(head, parts[:3], words["fill"], say(words["close"]), rules.window, "\n")
    elif network == "tiktok":
        text = _fit(f"{MARK} {open_}{title}", [], [], say(words["close"]), rules.window)
    else:
        tail = say(words["close"])
        text = _fit(f"{MARK} {open_}{title}{stop}", parts, words["fill"], tail, rules.window)
    if rules.style.bullets and network != "tiktok":
        text = re.sub(r"(?<=[.!?]) (?=[A-ZÁÉÍÓÚÑ¿¡])", "\n• ", text)
    text += dice.wild(language)
    post: dict[str, Any] = {"text": text}
    if "hashtags" in fields:
        post["hashtags"] = hashtags(title, content, network, rules.hashtags)
    if "character_count" in fields:
        post["character_count"] = len(text)
    if "suggested_image_prompt" in fields:
        post["suggested_image_prompt"] = {
            "es": f"{MARK} Foto cuadrada 1:1, luminosa y realista, sobre «{quoted(title, 200)}»; "
            "estudiantes sonriendo en el campus, colores institucionales, sin texto encima.",
            "en": f"{MARK} Square 1:1 photo, bright and realistic, about «{quoted(title, 200)}»; "
            "smiling students on campus, brand colours, no text overlay.",
        }[language]
    if "tone" in fields:
        default = "formal" if rules.style.formal else "profesional"
        post["tone"] = rules.tone or ("professional" if language == "en" else default)
    if "video_hook" in fields:
        hook = dice.pick(words.get("hook", ["{t}"])).replace("{t}", quoted(title, 90))
        post["video_hook"] = hook if rules.emoji else EMOJI_RE.sub("", hook).strip()
    if "format" in fields:
        post["format"] = "conversational"
    return post


def news_from(messages: list[dict]) -> tuple[str, str]:
    """The news's title and content: the first user message as JSON, else its text."""
    users = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    first = users[0] if users else ""
    try:
        data = json.loads(first)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        title = str(data.get("titulo") or data.get("title") or "la noticia")
        return title, str(data.get("contenido") or data.get("content") or "")
    lines = [line for line in first.splitlines() if line.strip()]
    return (quoted(lines[0], 150) if lines else "la noticia"), " ".join(lines[1:])
