"""Load and validate the knowledge folder; every error names the file and the field.

The knowledge base ships inside the package (`bot/knowledge/`, package data) and is read through
`importlib.resources`, so an installed wheel works from any folder; `--knowledge DIR` (or
CAMPAIGN_BOT_KNOWLEDGE) points at another folder of the same shape.
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bot.errors import KnowledgeError
from bot.kb.models import CampaignApiKnowledge, KnowledgeBase, Lexicon, Module


def packaged(*parts: str) -> Traversable:
    """A file or folder shipped inside the package (`bot/knowledge`, `bot/data`)."""
    node: Traversable = resources.files("bot")
    for part in parts:
        node = node.joinpath(part)
    return node


DEFAULT_KNOWLEDGE_DIR = packaged("knowledge")


def format_validation_error(path: Traversable | str, err: ValidationError) -> str:
    """One line per problem: `file: field.path: message`."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"{path}: {loc}: {e['msg']}")
    return "\n".join(lines)


def read_yaml(path: Traversable) -> Any:
    """Parse one YAML file safely; syntax errors name the file, line and column, and a file that is
    not UTF-8 text (a binary, a UTF-16 export) names the file and the first bad byte."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise KnowledgeError(f"{path}: cannot read: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise KnowledgeError(
            f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}): save it as UTF-8 YAML"
        ) from e
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise KnowledgeError(f"{path}: invalid YAML{where}: {problem}") from e


def _validate(model: type[BaseModel], data: Any, path: Traversable) -> Any:
    if not isinstance(data, dict):
        raise KnowledgeError(f"{path}: (top level): expected a mapping, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise KnowledgeError(format_validation_error(path, e)) from e


def load_module(path: Traversable) -> Module:
    module: Module = _validate(Module, read_yaml(path), path)
    if path.name.rsplit(".", 1)[0].lower() != module.name.lower():
        raise KnowledgeError(f"{path}: name: {module.name!r} does not match the file name {path.name!r}")
    return module


def load_knowledge(directory: Path | Traversable | None = None) -> KnowledgeBase:
    """Load `lexicon.yaml` and `modules/*.yaml` from `directory` into a frozen KnowledgeBase.

    Raises KnowledgeError with `file: field: message` lines on any invalid file.
    """
    root = directory or DEFAULT_KNOWLEDGE_DIR
    mod_dir = root / "modules"
    if not mod_dir.is_dir():
        raise KnowledgeError(f"{mod_dir}: knowledge folder not found")
    files = sorted((f for f in mod_dir.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    if not files:
        raise KnowledgeError(f"{mod_dir}: no module files (*.yaml)")
    lex_path = root / "lexicon.yaml"
    lexicon: Lexicon = _validate(Lexicon, read_yaml(lex_path), lex_path)
    modules = tuple(load_module(f) for f in files)
    api_path = root / CAMPAIGN_API_FILE
    campaign_api = load_campaign_api(api_path) if api_path.is_file() else None
    try:
        kb = KnowledgeBase(modules=modules, lexicon=lexicon, campaign_api=campaign_api)
    except ValidationError as e:
        raise KnowledgeError(format_validation_error(root, e)) from e
    _check_signal_terms(kb, files)
    _check_names_unique(kb, files)
    return kb


def _check_names_unique(kb: KnowledgeBase, files: list[Traversable]) -> None:
    """A module name or alias names one module only: `/campaign-module statserver` must not depend on
    the order files load in. Compared as the resolver compares (case, spaces and hyphens ignored)."""
    by_name: dict[str, Traversable | Path] = {f.name.rsplit(".", 1)[0].lower(): f for f in files}
    owner: dict[str, str] = {}
    for m in kb.modules:
        for i, name in enumerate((m.name, *m.aliases)):
            key = re.sub(r"[^a-z0-9]", "", name.split("@")[0].lower())
            other = owner.setdefault(key, m.name)
            if other != m.name:
                path = by_name.get(m.name.lower(), Path(m.name))
                field = "name" if i == 0 else f"aliases.{i - 1}"
                raise KnowledgeError(f"{path}: {field}: {name!r} already names module {other!r}")


CAMPAIGN_API_FILE = "campaign-api.yaml"


def load_campaign_api(path: Traversable | Path | None = None) -> CampaignApiKnowledge:
    """`campaign-api.yaml` (default: the packaged one): what the Campaign API checks read, with sources."""
    path = path or DEFAULT_KNOWLEDGE_DIR / CAMPAIGN_API_FILE
    knowledge: CampaignApiKnowledge = _validate(CampaignApiKnowledge, read_yaml(path), path)
    return knowledge


def _check_signal_terms(kb: KnowledgeBase, files: list[Traversable]) -> None:
    """Every `@CONCEPT` used in a signal must exist in the lexicon."""
    by_name: dict[str, Traversable | Path] = {f.name.rsplit(".", 1)[0].lower(): f for f in files}
    for m in kb.modules:
        for term in m.signals:
            for word in term.replace("+", " ").split():
                if word.startswith("@") and word[1:] not in kb.lexicon.concepts:
                    path = by_name.get(m.name.lower(), Path(m.name))
                    raise KnowledgeError(f"{path}: signals.{term}: unknown concept {word!r}")
