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
from collections.abc import Sequence
from typing import Any


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


__all__ = ["ArgumentParser", "SnakeCaseOptions", "CommaList", "comma_list", "hf_argument_parser", "kebab_flag", "snake_flag"]
