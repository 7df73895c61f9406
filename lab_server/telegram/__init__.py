"""The Telegram bot: Bot API client, webhook management, update parsing and replies.

from lab_server.telegram import set_webhook, webhook_info, wait_replies
set_webhook(lab)        # Telegram delivers to the lab's public URL, with a secret
webhook_info(lab)       # pending updates and the last delivery error
"""

from .bot import wait_replies
from .client import BotAPI
from .errors import TelegramAPIError, TelegramConnectionError, TelegramError
from .webhook import (
    WebhookURLError,
    check_webhook_url,
    delete_webhook,
    set_webhook,
    webhook_info,
)

__all__ = [
    "BotAPI",
    "TelegramAPIError",
    "TelegramConnectionError",
    "TelegramError",
    "WebhookURLError",
    "check_webhook_url",
    "delete_webhook",
    "set_webhook",
    "wait_replies",
    "webhook_info",
]
