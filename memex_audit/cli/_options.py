"""Options several commands share, declared once (typer reads them from ``Annotated`` types)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from memex_audit.cli._app import folder_option

BASE_URL_HELP = (
    "Endpoint of the model's provider: an OpenAI-compatible server for openai:NAME (vLLM, llama.cpp, "
    "Ollama...; default OPENAI_BASE_URL, else api.openai.com). Never applied to a Claude model unless given."
)
CACHE_HELP = (
    "Record every model reply in DIR and replay it when the same request comes again: a rerun "
    "sends no request and reproduces the results exactly."
)
TEMPERATURE_HELP = "Sampling temperature, where the model's API takes one (Anthropic's does not)."

BaseUrlOption = Annotated[str | None, typer.Option("--base-url", help=BASE_URL_HELP)]
CacheOption = Annotated[Path | None, typer.Option("--cache", help=CACHE_HELP)]
TemperatureOption = Annotated[float, typer.Option("--temperature", help=TEMPERATURE_HELP)]
PriceOption = Annotated[
    str | None,
    typer.Option("--price", help="The model's price as IN/OUT in USD per million tokens (e.g. 0.5/1.5)."),
]
AllowUnpricedOption = Annotated[
    bool, typer.Option("--allow-unpriced", help="Run under --max-cost although the model's price is unknown.")
]
GlobOption = Annotated[
    str | None, typer.Option("--glob", "-g", help="Only read files matching this pattern.")
]
FormatOption = Annotated[str | None, typer.Option("--format", "-f", help="Read every file with this format.")]
RunFolderOption = Annotated[
    Path,
    typer.Option("--out", "-o", callback=folder_option, help="Run folder to write (reusing one resumes it)."),
]
