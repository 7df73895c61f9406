"""Third-party clients (python-telegram-bot, pyTelegramBotAPI, aiogram, ...) against the stand-ins."""
