"""The knowledge base: Campaign modules, their symptoms, checks and documented remedies."""

from bot.kb.loader import load_knowledge
from bot.kb.models import KnowledgeBase, Module, Risk, Step

__all__ = ["KnowledgeBase", "Module", "Risk", "Step", "load_knowledge"]
