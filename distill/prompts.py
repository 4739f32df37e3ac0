"""Prompt presets are data: YAML files under recipes/prompts/ (name, description, fields, template).

A user file works the same way: a .yaml preset, or a plain text file whose `{question}` (and any
other `{field}` of the question record) is filled in. Only the declared fields are substituted, so
code inside a prompt (`print(f'{x}')`) stays as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mathmind.errors import UserError


@dataclass(frozen=True)
class Prompt:
    name: str
    template: str
    fields: tuple[str, ...]
    description: str = ""
    verdict: dict[str, str] | None = None   # judge presets: regexes that read an accept / reject reply

    def render(self, record: dict[str, Any], where: str) -> str:
        text = self.template
        for name in self.fields:
            value = record.get(name)
            if value is None or value == "":
                raise UserError(f"{where}: field {name!r} is missing or empty (prompt {self.name!r} needs {list(self.fields)})")
            text = text.replace("{" + name + "}", _as_text(value))
        return text


def _as_text(value: Any) -> str:
    if isinstance(value, list):  # multiple-choice options, as seed 003 renders them
        return "\n".join(f"{chr(ord('A') + i)}. {option}" for i, option in enumerate(value))
    return str(value)


def preset_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("mathmind.recipes").joinpath("prompts").iterdir()
                  if p.name.endswith(".yaml"))


def _from_yaml(text: str, source: str) -> Prompt:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise UserError(f"{source}: not valid YAML ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("template"), str):
        raise UserError(f"{source}: a prompt preset needs a `template` string (and `fields`, default [question])")
    fields = tuple(data.get("fields") or ("question",))
    verdict = data.get("verdict")
    if verdict is not None and not (isinstance(verdict, dict) and set(verdict) == {"accept", "reject"}):
        raise UserError(f"{source}: `verdict` must map accept and reject to regular expressions")
    return Prompt(name=str(data.get("name") or Path(source).stem), template=data["template"], fields=fields,
                  description=str(data.get("description", "")), verdict=verdict)


def load_prompt(name_or_path: str) -> Prompt:
    """A preset by name (`step_by_step`, `seed002_dad_zh`, ...) or a user's .yaml / .txt file."""
    path = Path(name_or_path)
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".yaml", ".yml"):
            return _from_yaml(text, str(path))
        if "{question}" not in text:
            raise UserError(f"{path}: a prompt file needs a {{question}} placeholder")
        return Prompt(name=path.stem, template=text, fields=("question",))
    preset = resources.files("mathmind.recipes").joinpath("prompts", f"{name_or_path}.yaml")
    if not preset.is_file():
        raise UserError(f"--prompt {name_or_path!r}: no such file and no such preset (presets: {', '.join(preset_names())})")
    return _from_yaml(preset.read_text(encoding="utf-8"), f"preset {name_or_path}")
