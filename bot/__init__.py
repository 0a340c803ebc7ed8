"""campaign-ops-bot: a chat-ops bot for Adobe Campaign Classic servers."""

__version__ = "0.1.0"
