"""``smecredit key init`` and ``smecredit audit verify``."""

from __future__ import annotations

from pathlib import Path

import typer

from smecredit.cli import app, console

key_app = typer.Typer(help="The project key (pseudonyms, model signatures, audit chain).", no_args_is_help=True)
app.add_typer(key_app, name="key")
audit_app = typer.Typer(help="The tamper-evident audit store of decisions.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@key_app.command("init")
def key_init(
    source: Path | None = typer.Option(None, "--from", help="Use the key in this file (e.g. an old "
                                       ".smecredit/pseudonym.key) instead of a new random one."),
    force: bool = typer.Option(False, "--force", help="Replace an existing key (changes every pseudonym)."),
    if_missing: bool = typer.Option(False, "--if-missing", help="Do nothing (exit 0) when a key is already "
                                    "configured (environment or user file)."),
) -> None:
    """Create the user-level key file (~/.config/smecredit/pseudonym.key, mode 600) once."""
    from smecredit.exceptions import ConfigError
    from smecredit.io import writing
    from smecredit.privacy import init_key, load_key, user_key_file

    if if_missing:
        try:
            load_key()
        except ConfigError:
            pass
        else:
            console.print("a key is already configured; nothing to do", highlight=False)
            return
    with writing(user_key_file()):
        path = init_key(source=source, force=force)
    console.print(f"key written to {path}; every smecredit command of this user now uses it", highlight=False, soft_wrap=True)


@audit_app.command("verify")
def audit_verify(store: Path = typer.Option(..., "--audit", help="Audit store folder (of `decide --audit`).")) -> None:
    """Check the HMAC chain of every part: exit 0 if intact, 5 naming each deleted, edited, reordered or
    inserted part."""
    from smecredit.decisions.audit import audit_parts, chain_head, verify_audit
    from smecredit.exceptions import AuditIntegrityError

    problems = verify_audit(store)
    if problems:
        for p in problems:
            console.print(f"TAMPERED {p}", highlight=False, soft_wrap=True)
        raise AuditIntegrityError(f"audit store {store}: {len(problems)} problem(s); first: {problems[0]}")
    head = chain_head(store)
    n = len(audit_parts(store))
    tail = f"; head part {head['part']} mac {head['mac'][:16]}" if head else ""
    console.print(f"audit store {store}: {n} part(s), chain intact{tail}", highlight=False, soft_wrap=True)


model_app = typer.Typer(help="Saved models.", no_args_is_help=True)
app.add_typer(model_app, name="model")


@model_app.command("verify")
def model_verify(model: str = typer.Option(..., "--model", help="MODEL_DIR, runs:/..., models:/NAME/VERSION or "
                                           "models:/NAME@ALIAS.")) -> None:
    """Check a model's files against its signed manifest (and the registry's SHA-256 tag): exit 0 if intact, 5
    naming the file otherwise. Run it before serving a model folder with `mlflow models serve`."""
    from smecredit.registry import load_model

    m = load_model(model)
    md = m.metadata_
    reg = f"; registered {md['registered_name']} version {md['registered_version']}" if md.get("registered_version") else ""
    console.print(f"{model}: {m.kind} model, {len(m.feature_names_)} features, files intact{reg}", highlight=False,
                  soft_wrap=True)
