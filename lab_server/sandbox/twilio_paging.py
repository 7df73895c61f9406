"""`GET .../Messages.json`: the message log filtered and paged as Twilio pages it.

Source: Twilio's OpenAPI description of ListMessage (twilio/twilio-oai
spec/json/twilio_api_v2010.json) and twilio.com/docs/messaging/api/message-resource#read-
multiple-message-resources: filters `To`, `From`, `DateSent`, `DateSent<` (on and before),
`DateSent>` (on and after), GMT dates as `YYYY-MM-DD` (twilio-python sends datetimes as
`YYYY-MM-DDTHH:MM:SSZ`); `PageSize` 1..1000, default 50; `Page` and `PageToken` as the API
hands them out in `next_page_uri`; newest first. twilio-python follows `next_page_uri`
(twilio/base/page.py), so `list()`, `stream()` and `page()` all work against this.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
FILTERS = ("To", "From", "DateSent", "DateSent<", "DateSent>")


class QueryError(ValueError):
    """A list query Twilio would refuse with 400 (code 20001 in the sandbox)."""


def _moment(value: str, name: str) -> datetime | date:
    """`2026-11-28` -> a date (whole day); `2026-11-28T10:00:00Z` -> an instant (UTC)."""
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        raise QueryError(f"Invalid {name}: {value!r} is not a GMT date (YYYY-MM-DD)") from None


def _matches(sent: datetime, op: str, bound: datetime | date) -> bool:
    """A whole-day bound compares dates; an instant compares instants (DateSent: same day)."""
    left: datetime | date = sent
    right: datetime | date = bound
    if not isinstance(bound, datetime) or op == "DateSent":
        left = sent.date()
        right = bound.date() if isinstance(bound, datetime) else bound
    if op == "DateSent":
        return left == right
    return left <= right if op == "DateSent<" else left >= right  # type: ignore[operator]


def select(messages: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
    """The messages that pass the filters in `query`, newest first."""
    chosen = list(reversed(messages))  # stored oldest first
    if query.get("To"):
        chosen = [m for m in chosen if m["to"] == query["To"]]
    if query.get("From"):
        chosen = [m for m in chosen if m["from"] == query["From"]]
    for op in ("DateSent", "DateSent<", "DateSent>"):
        if query.get(op):
            bound = _moment(query[op], op)
            chosen = [
                m
                for m in chosen
                if m["date_sent"] and _matches(parsedate_to_datetime(m["date_sent"]), op, bound)
            ]
    return chosen


def _int(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"Invalid {name}: {raw!r} is not an integer") from None
    if not low <= value <= high:
        raise QueryError(f"Invalid {name}: must be between {low} and {high}")
    return value


def page(messages: list[dict[str, Any]], query: dict[str, str], path: str) -> dict[str, Any]:
    """One page of the list, with Twilio's paging fields; `path` is the list's URI path."""
    size = _int(query, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    number = _int(query, "Page", 0, 0, 10**9)
    chosen = select(messages, query)
    start = number * size
    token = query.get("PageToken", "")
    if token:  # "PA" + the SID of the last record of the previous page
        sids = [m["sid"] for m in chosen]
        if not token.startswith("PA") or token[2:] not in sids:
            raise QueryError(f"Invalid PageToken: {token!r}")
        start = sids.index(token[2:]) + 1
    records = chosen[start : start + size]
    filters = {name: query[name] for name in FILTERS if query.get(name)}

    def uri(page_number: int, page_token: str | None = None) -> str:
        params = {**filters, "PageSize": size, "Page": page_number}
        if page_token:
            params["PageToken"] = page_token
        return f"{path}?{urlencode(params)}"

    more = start + size < len(chosen)
    return {
        "end": start + len(records) - 1 if records else 0,
        "first_page_uri": uri(0),
        "next_page_uri": uri(number + 1, "PA" + records[-1]["sid"]) if more and records else None,
        "page": number,
        "page_size": size,
        "previous_page_uri": uri(number - 1, None) if number > 0 else None,
        "messages": records,
        "start": start,
        "uri": uri(number, token or None),
    }
