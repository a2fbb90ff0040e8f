"""One flag style for every `multimodal-sentiment` command: snake_case, as `TrainingArguments`
spells its flags (`--batch_size`, `--output_dir`, `--image_views caption ocr`).

`ArgumentParser` is `argparse.ArgumentParser` that writes every long option in snake_case,
however the code declares it, and still accepts the other spelling (`--batch-size`,
`--output-dir=x`) as a hidden alias: the help shows one spelling, old command lines keep working,
and a flag added later gets both for free. `CommaList` is the action of list options that also
take the old comma-separated form (`--image_views caption,ocr` = `--image_views caption ocr`).

Imports only the standard library: `multimodal-sentiment --help` stays instant.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

OptionsT = TypeVar("OptionsT")


def snake_flag(option: str) -> str:
    """`--batch-size` -> `--batch_size`; short options and positionals unchanged."""
    if option.startswith("--") and len(option) > 2:
        return "--" + option[2:].replace("-", "_")
    return option


def kebab_flag(option: str) -> str:
    """`--batch_size` -> `--batch-size` (the hidden alias)."""
    return "--" + option[2:].replace("_", "-") if option.startswith("--") else option


class SnakeCaseOptions:
    """Mixin for an `argparse.ArgumentParser` (sub)class: snake_case long options, the kebab-case
    spelling accepted as a hidden alias (options declared in both spellings are declared once)."""

    def add_argument(self, *names: str, **kwargs: Any) -> argparse.Action:
        return super().add_argument(*_snake_names(names), **kwargs)

    def add_argument_group(self, *args: Any, **kwargs: Any) -> argparse._ArgumentGroup:
        return _snake_case_container(super().add_argument_group(*args, **kwargs))

    def add_mutually_exclusive_group(self, **kwargs: Any) -> argparse._MutuallyExclusiveGroup:
        return _snake_case_container(super().add_mutually_exclusive_group(**kwargs))

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> tuple[Any, list[str]]:
        import sys

        return super().parse_known_args(self.canonical_argv(sys.argv[1:] if args is None else args), namespace)

    def canonical_argv(self, argv: Sequence[str]) -> list[str]:
        """`argv` with every known option in its snake_case spelling (values and everything
        after a bare `--` untouched)."""
        known = set(self._option_string_actions)
        out: list[str] = []
        for index, token in enumerate(argv):
            if token == "--":
                return out + list(argv[index:])
            name, sep, value = token.partition("=")
            canonical = snake_flag(name)
            out.append(canonical + sep + value if name.startswith("--") and canonical in known else token)
        return out


class ArgumentParser(SnakeCaseOptions, argparse.ArgumentParser):
    """`argparse.ArgumentParser` with snake_case long options and hidden kebab-case aliases."""


def hf_argument_parser(*args: Any, **kwargs: Any) -> Any:
    """`transformers.HfArgumentParser(*args, **kwargs)` with the same flag style (its dataclass
    fields' kebab aliases hidden, plain `add_argument` options given them too)."""
    return _hf_parser_class()(*args, **kwargs)


def _hf_parser_class() -> type:
    global _HF_PARSER_CLASS
    if _HF_PARSER_CLASS is None:
        from transformers import HfArgumentParser

        _HF_PARSER_CLASS = type("SnakeCaseHfArgumentParser", (SnakeCaseOptions, HfArgumentParser), {})
    return _HF_PARSER_CLASS


_HF_PARSER_CLASS: type | None = None


def _snake_names(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(snake_flag(name) for name in names))


def _snake_case_container(container: Any) -> Any:
    add = container.add_argument

    def add_argument(*names: str, **kwargs: Any) -> argparse.Action:
        return add(*_snake_names(names), **kwargs)

    container.add_argument = add_argument
    return container


def comma_list(value: str) -> list[str]:
    """One command-line word of a list option: `caption,ocr` -> `["caption", "ocr"]`."""
    return [part.strip() for part in value.split(",") if part.strip()]


class CommaList(argparse.Action):
    """The action of a `nargs="+"` list option whose words may also be comma-separated:
    `--image_views caption ocr`, `--image_views caption,ocr` -> `["caption", "ocr"]`."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, [item for word in values for item in comma_list(word)])


def add_dataclass_arguments(container: Any, cls: type, names: Sequence[str] | None = None) -> None:
    """Declare the fields of the dataclass `cls` (all, or `names`) as options of a parser or
    argument group: `--field` with the field's type, default and metadata (help, choices, nargs);
    a `list[...]` field takes one or more values; a bool is a switch (`--field`, or `--no_field`
    when it defaults to True), so it never swallows the word after it as `HfArgumentParser`'s
    `--flag [bool]` does. A field without a default is optional here (None). The dataclass is the
    one declaration of the options; `options_from(cls, namespace)` reads them back."""
    hints = typing.get_type_hints(cls)
    for spec in dataclasses.fields(cls):
        if names is not None and spec.name not in names:
            continue
        kind = hints[spec.name]
        if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
            kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
        if spec.default is not dataclasses.MISSING:
            default = spec.default
        elif spec.default_factory is not dataclasses.MISSING:
            default = spec.default_factory()
        else:
            default = None
        extra = dict(spec.metadata)
        if kind is bool:
            negated = default is True
            flag = f"--no_{spec.name}" if negated else f"--{spec.name}"
            container.add_argument(flag, dest=spec.name, action="store_false" if negated else "store_true", **extra)
            continue
        if typing.get_origin(kind) is list:
            kind = typing.get_args(kind)[0]
            extra.setdefault("nargs", "+")
        container.add_argument(f"--{spec.name}", dest=spec.name, type=kind, default=default, **extra)


def options_from(cls: type[OptionsT], namespace: argparse.Namespace, **overrides: Any) -> OptionsT:
    """The dataclass `cls` (e.g. `DatasetOptions`) from a parsed namespace: the fields it holds (the
    rest keep their defaults), then `overrides`. A command's `main` hands the library typed options
    this way; the library never sees the namespace."""
    values = {f.name: getattr(namespace, f.name) for f in dataclasses.fields(cls) if f.init and hasattr(namespace, f.name)}
    return cls(**{**values, **overrides})


__all__ = ["ArgumentParser", "SnakeCaseOptions", "CommaList", "add_dataclass_arguments", "comma_list", "hf_argument_parser", "kebab_flag", "options_from", "snake_flag"]
