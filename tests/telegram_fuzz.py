"""Hypothesis strategies for Telegram webhook bodies: any JSON, and Update-shaped JSON."""

from __future__ import annotations

from hypothesis import strategies as st

#: Text with what databases refuse mixed in: NUL and unpaired surrogates ("\ud800" is valid JSON).
NASTY_TEXT = st.text(st.characters() | st.sampled_from(["\x00", "\ud800", "\udfff"]), max_size=30)
LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | NASTY_TEXT
#: Any JSON value (NaN and Infinity included: Python's json reads and writes them).
JSON = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=12,
)
#: Keys of the Update, Message and CallbackQuery objects, so the values land where the bot looks.
FIELDS = st.sampled_from(
    [
        "message",
        "edited_message",
        "channel_post",
        "callback_query",
        "chat",
        "id",
        "text",
        "caption",
        "photo",
        "document",
        "location",
        "contact",
        "data",
        "from",
        "first_name",
        "latitude",
        "longitude",
        "phone_number",
        "width",
    ]
)
SHAPED = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(FIELDS, inner, max_size=4),
    max_leaves=15,
)
#: An update_id (sometimes of the wrong type) and Update-shaped fields.
UPDATES = st.builds(
    lambda update_id, fields: {**fields, "update_id": update_id},
    st.integers() | LEAVES,
    st.dictionaries(FIELDS, SHAPED, max_size=3),
)
