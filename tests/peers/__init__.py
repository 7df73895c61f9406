"""Third-party clients (python-telegram-bot, telebot, aiogram, ...) against the stand-ins."""
