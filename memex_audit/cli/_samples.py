"""``memex-audit samples``: generate (or check) the synthetic sample rollouts."""

from __future__ import annotations

from pathlib import Path

import typer

from memex_audit.cli._app import app, console, fail, folder_option
from memex_audit.samples import DEFAULT_SEED, check_samples, write_corpus, write_samples

samples_app = typer.Typer(
    help="The synthetic sample rollouts (sample_trajectories/): generate them, or check a folder against them.",
    no_args_is_help=True,
)
app.add_typer(samples_app, name="samples")


@samples_app.command("generate")
def generate(
    out: Path = typer.Option(
        Path("sample_trajectories"),
        "--out",
        "-o",
        callback=folder_option,
        help="Folder to write the sample rollouts into.",
    ),
    seed: int = typer.Option(
        DEFAULT_SEED, help="Seed of the generator; the committed samples use the default."
    ),
    check: bool = typer.Option(
        False,
        "--check",
        help="Write nothing: regenerate into a temporary folder, compare bytes with --out, exit 1 on any difference.",
    ),
    corpus_out: Path | None = typer.Option(
        None,
        "--corpus-out",
        help="Also dump the synthetic bulletins as text files into this folder (keep it outside --out).",
    ),
) -> None:
    """Generate the synthetic OfficeQA-style and best-of-N sample rollouts, deterministically from a seed."""
    if corpus_out is not None:
        if out.resolve() in (corpus_out.resolve(), *corpus_out.resolve().parents):
            raise fail("--corpus-out must be outside --out: loaders would read the corpus as rollouts")
        written = write_corpus(corpus_out, seed)
        console.print(f"wrote {len(written)} corpus files to {corpus_out}", highlight=False)
    if check:
        problems = check_samples(out, seed)
        if problems:
            for line in problems:
                console.print(f"  {line}", highlight=False, markup=False)
            raise fail(
                f"{out} differs from the generator's output ({len(problems)} files); "
                f"run `memex-audit samples generate --out {out}`",
                1,
            )
        console.print(f"{out} matches the generator's output (seed {seed})", highlight=False)
        return
    files = write_samples(out, seed)
    console.print(f"wrote {len(files)} files to {out} (seed {seed})", highlight=False)
