"""Every ``sap2/bin`` tool is a console script, and its ``--help`` explains every option
once: no option without help, no doubled or empty ``(default: ...)``."""

import argparse
import importlib
import pkgutil
import re

import pytest
from conftest import REPO

import sap2.bin

TOOLS = sorted(m.name for m in pkgutil.iter_modules(sap2.bin.__path__))
SCRIPTS = dict(
    (module, script)
    for script, module in re.findall(
        r'"(sap2-[a-z-]+)=sap2\.bin\.(\w+):main"', (REPO / "setup.py").read_text()
    )
)


def test_every_tool_is_a_console_script():
    assert set(SCRIPTS) == set(TOOLS)
    for module, script in SCRIPTS.items():
        assert script == "sap2-" + module.replace("_", "-")


def options(parser: argparse.ArgumentParser, name: str):
    """``(parser name, parser, action)`` of every option and positional, subcommands too."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from options(sub, f"{name} {sub_name}")
        elif not isinstance(action, argparse._HelpAction):
            yield name, parser, action


@pytest.mark.parametrize("tool", TOOLS)
def test_help_of_every_option(tool):
    parser = importlib.import_module(f"sap2.bin.{tool}").get_parser()
    assert parser.prog == SCRIPTS[tool]
    for name, owner, action in options(parser, SCRIPTS[tool]):
        label = f"{name} {'/'.join(action.option_strings) or action.dest}"
        assert action.help, f"{label}: no help"
        text = owner._get_formatter()._expand_help(action)
        assert text.lower().count("default") <= 1, f"{label}: {text}"
        assert "(default: None)" not in text and "(default: )" not in text, f"{label}: {text}"


def test_defaults_are_shown_once():
    parser = importlib.import_module("sap2.bin.biasing_lists").get_parser()
    seed = next(a for a in parser._actions if a.dest == "seed")
    assert parser._get_formatter()._expand_help(seed).endswith("(default: 0)")
