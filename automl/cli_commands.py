"""What each ``automl`` subcommand does, given its parsed arguments (``automl.cli`` builds the
parser and maps errors to exit statuses)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from automl.errors import DataError, ParameterError
from automl.outputs import check_file, check_folder


def cmd_fit(args: argparse.Namespace) -> int:
    from automl import studyfile

    if args.out:  # before the search, not after it
        check_folder(args.out, "the model folder")
    from automl.settings import SETTINGS

    given = {s.study_key: getattr(args, s.cli.dest) for s in SETTINGS if s.cli and s.study_key}
    given["name"] = given["name"] or studyfile.name_for(args.data)
    given["models"] = [m.strip() for m in (args.models or "").split(",") if m.strip()] or None
    spec = studyfile.StudySpec(
        data=args.data,
        target=args.target,
        options={"text_column": args.text_column} if args.text_column else {},
        **given,
    )
    execute(spec, args, model_dir=args.out, report=not args.no_report)
    return 0


def execute(spec: Any, args: argparse.Namespace, **more: Any) -> None:
    """Run ``spec`` (a new study with ``--new``); a stored study that refuses these settings
    says how to start a new one instead."""
    from automl import studyfile
    from automl.errors import StudyMismatch

    if args.new:
        spec.name = studyfile.fresh_name(spec.name, spec.storage)
        print(f"starting a new study {spec.name!r} (its model and report: {spec.folder}/)")
    try:
        studyfile.execute(spec, verbose=not args.quiet, **more)
    except StudyMismatch as exc:
        fresh = studyfile.fresh_name(spec.name, spec.storage)
        raise StudyMismatch(
            f"{exc}. On the command line: add --new to start a new study (named {fresh!r})"
        ) from None


def cmd_run(args: argparse.Namespace) -> int:
    from automl import studyfile

    spec = studyfile.read(args.definition)
    if args.time_budget is not None:
        spec.time_budget = args.time_budget
    execute(spec, args)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import pandas as pd

    import automl
    from automl import studyfile

    if args.out:
        check_file(args.out, "the predictions")
    folder = Path(args.model_dir)
    if not (folder / "MANIFEST.json").is_file() and (folder / "model").is_dir():
        folder = folder / "model"  # a study folder: its saved model
    result = automl.load(str(folder))
    data = studyfile.load_features(args.data)
    frame = pd.DataFrame({"prediction": result.predict(data)})
    if result.problem_type != "regression" and result.predictor.has_proba:
        proba = result.predict_proba(data)
        for i, label in enumerate(result.classes_):
            frame[f"proba_{label}"] = proba[:, i]
    if args.out:
        frame.to_csv(args.out, index=False)
        print(f"wrote {len(frame)} predictions to {args.out}")
    else:
        frame.to_csv(sys.stdout, index=False)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import automl
    from automl.report import is_rebuilt_page

    folder = Path(args.study_dir)
    if not (folder / "model").is_dir():
        raise DataError(
            f"{folder} holds no saved model (expected {folder / 'model'}); run "
            "`automl fit` or `automl run` first"
        )
    result = automl.load(str(folder / "model"))
    fit_page = folder / "report.html"
    target = Path(args.out) if args.out else fit_page
    if target.exists() and not is_rebuilt_page(target):
        if args.out:  # a page written at fit time holds what a rebuild cannot: never replaced
            raise ParameterError(
                f"--out {target} is a report written at fit time, with held-out metrics and "
                "explanations that a rebuilt page lacks; it is kept: name another file, or "
                f"leave --out out to write {folder / 'report-rebuilt.html'}"
            )
        target = folder / "report-rebuilt.html"
        print(
            f"kept the fit-time report {fit_page}; the rebuilt page "
            "leaves out held-out metrics and explanations"
        )
    kept = (
        f"; the page written at fit time is {fit_page.name} beside it" if fit_page.exists() else ""
    )
    rebuilt = (
        "Rebuilt by automl report from the saved model and the study's trials: the held-out "
        f"rows are not saved with the model{kept}."
    )
    out = result.report(str(target), rebuilt=rebuilt)
    print(f"report: {out}")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from automl.dashboard import serve

    serve(args.path, host=args.host, port=args.port)
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    import automl

    plugins = automl.list_plugins()
    if not plugins:
        print("no plugins loaded (entry-point group automl.plugins)")
    for p in plugins:
        origin = f"{p['distribution']} {p['version']}" if p["distribution"] else "in-process"
        print(f"{p['name']}  ({p['module']}, from {origin})")
        print(f"    tasks:  {', '.join(p['tasks']) or '-'}")
        print(f"    models: {', '.join(p['models']) or '-'}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from automl.worker import run_worker

    done = run_worker(
        args.storage, args.study, n_trials=args.n_trials, time_budget=args.time_budget
    )
    print(f"worker finished {done} trial(s) of study {args.study!r}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import json

    import automl
    from automl import studyfile

    result = automl.load(args.model_dir)
    data = studyfile.load_features(args.data) if args.data else None
    meta = result.export(args.out, format=args.format, data=data)
    print(json.dumps(meta["check"], indent=2))
    print(f"wrote {args.out}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from automl.serve import serve
    from automl.serve_checks import body_limit_bytes

    serve(
        args.model_dir,
        host=args.host,
        port=args.port,
        window=args.window,
        max_body_bytes=body_limit_bytes(args.max_body_mb),
        threads=args.threads or None,
        token=args.token,
    )
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    import automl
    from automl import studyfile

    out = check_folder(args.out, "the drift report")
    result = automl.load(args.model_dir)
    data = studyfile.load_features(args.data)
    labels = None
    if args.labels:
        if not hasattr(data, "columns") or args.labels not in data.columns:
            raise DataError(f"--labels {args.labels!r} is not a column of {args.data}")
        labels, data = data[args.labels], data.drop(columns=[args.labels])
    report = result.monitor(data, labels)
    out.mkdir(parents=True, exist_ok=True)
    html = report.write_html(str(out / "report.html"))
    summary = report.write_json(str(out / "summary.json"))
    flagged = ", ".join(report.drifted) or "none"
    print(f"drift: {'yes' if report.summary['drift'] else 'no'} (features drifted: {flagged})")
    print(f"report: {html}\nsummary: {summary}")
    return 0
