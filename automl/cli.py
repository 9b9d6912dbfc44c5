"""The ``automl`` command: fit, run, predict, report, dashboard, plugins, worker, export, serve,
monitor.

Wrong usage (unknown file type, missing target column, unreadable file, unknown study, an output
path that cannot be written) prints a one-line error and exits with status 2, without a
traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from automl import cli_commands as commands
from automl.errors import DataError, PluginError, SearchError, did_you_mean
from automl.logs import shown

NEW_HELP = (
    "start a new study instead of resuming the one of that name (it is named NAME-2, NAME-3 ...; "
    "the name is printed): for a re-run with other settings"
)
# OSError: a file system's refusal (no permission, a name too long, a full disk) of a path given
USAGE_ERRORS = (DataError, PluginError, OSError, ValueError, KeyError, ImportError)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        with shown(_log_level(args)):
            return int(args.handler(args) or 0)
    except SearchError as exc:
        print(f"automl {args.command}: search failed: {exc}", file=sys.stderr)
        return 1
    except USAGE_ERRORS as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
            message = f"{exc.strerror}: {exc.filename}"  # without "[Errno 36]"
        print(f"automl {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"automl {args.command}: interrupted", file=sys.stderr)
        return 130


def _log_level(args: argparse.Namespace) -> int:
    """The automl log lines a command shows on standard error: INFO, DEBUG with -v, WARNING
    with a command's --quiet."""
    if args.verbose:
        return logging.DEBUG
    return logging.WARNING if getattr(args, "quiet", False) else logging.INFO


class Parser(argparse.ArgumentParser):
    """argparse's parser whose "unrecognized arguments" error names the close spellings of the
    command's own options (``--time-budjet``: did you mean --time-budget?)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.spellings: list[str] = []  # the option strings added (before argparse adds -h)
        self.commands: dict[str, Parser] = {}  # the sub-commands' parsers, by name
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.spellings += action.option_strings
        return action

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        """argparse's, naming the close spellings of options the command does not know."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = self.commands.get(getattr(parsed, "command", None) or "", self)
            hints = did_you_mean(
                [e.split("=")[0] for e in extras if e.startswith("--")], command.spellings, "{}"
            )
            command.error(f"unrecognized arguments: {' '.join(extras)}{hints}")
        return parsed


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="automl",
        description="Search for the best model for a dataset (tables, images, text) with a "
        "pruned Optuna search, and review searches in a dashboard.",
    )
    from automl import __version__

    parser.add_argument("--version", action="version", version=f"automl {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show debug log lines on standard error"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.commands = sub.choices  # filled as each command is added

    p = sub.add_parser(
        "fit",
        help="search for the best model for DATA and save it",
        description="Search for the best model for DATA, save it and print the "
        "leaderboard, the model path and the report path.",
    )
    p.add_argument(
        "data",
        help="a CSV/TSV/Parquet file, an image folder (one sub-folder per "
        "class) or an IDX folder (MNIST layout)",
    )
    _add_search_options(p)
    p.add_argument("--out", help="model folder (default: studies/<study>/model)")
    p.add_argument("--no-report", action="store_true", help="do not write report.html")
    p.add_argument("--new", action="store_true", help=NEW_HELP)
    p.set_defaults(handler=commands.cmd_fit)

    p = sub.add_parser(
        "run",
        help="run (or resume) a study definition studies/NAME.toml",
        description="Run the study a TOML file defines; it lands in "
        "studies/<name>/ (storage, model, report). Running it again resumes it.",
    )
    p.add_argument("definition", help="path to a study TOML file")
    p.add_argument(
        "--time-budget",
        type=float,
        help="seconds the whole run may take: search, refit, report and saving (overrides the "
        "file's time_budget)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or log lines")
    p.add_argument("--new", action="store_true", help=NEW_HELP)
    p.set_defaults(handler=commands.cmd_run)

    p = sub.add_parser(
        "predict",
        help="predict with a saved model",
        description="Predict DATA with the model in MODEL_DIR (a model folder, or a study "
        "folder studies/<study> holding one); writes a CSV (prediction, and one probability "
        "column per class) or prints it.",
    )
    p.add_argument("model_dir")
    p.add_argument("data", help="a CSV/TSV/Parquet file, an image folder or an IDX folder")
    p.add_argument("--out", help="CSV file to write (default: standard output)")
    p.set_defaults(handler=commands.cmd_predict)

    p = sub.add_parser(
        "report",
        help="write the HTML report of a study folder",
        description="Write STUDY_DIR/report.html from the saved model and storage "
        "of a study folder (as written by `automl fit` or `automl run`). A fit-time "
        "report.html is never overwritten: the rebuilt page then goes to "
        "report-rebuilt.html beside it (it lacks held-out metrics and explanations, and says "
        "so at its top); --out refuses a fit-time page too.",
    )
    p.add_argument("study_dir")
    p.add_argument(
        "--out", help="HTML file (default: STUDY_DIR/report.html, or report-rebuilt.html)"
    )
    p.set_defaults(handler=commands.cmd_report)

    p = sub.add_parser(
        "dashboard",
        help="serve optuna-dashboard over the studies under PATH",
        description="Serve optuna-dashboard on HOST:PORT over every study storage "
        "automl made (studies.db, a journal .log) found under PATH, read-only, or over one "
        "storage URL; other files are skipped with a note.",
    )
    p.add_argument(
        "path",
        nargs="?",
        default="studies",
        help="a folder to search for study storages, a .db/.log file, or a storage "
        "URL (default: studies/)",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; use 0.0.0.0 only on purpose)",
    )
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.set_defaults(handler=commands.cmd_dashboard)

    p = sub.add_parser(
        "plugins",
        help="list loaded plugins, their tasks and model families",
        description="List the loaded plugins with their distribution, tasks and model families.",
    )
    p.set_defaults(handler=commands.cmd_plugins)

    p = sub.add_parser(
        "worker",
        help="join a running study from another process or host",
        description="Run trials of an existing study (started by `automl fit` "
        "or `automl run` on a data path) into its shared storage.",
    )
    p.add_argument(
        "--storage",
        required=True,
        help="storage URL shared by the workers "
        "(postgresql://..., or a journal file path ending in .log)",
    )
    p.add_argument("--study", required=True, help="study name")
    p.add_argument("--n-trials", type=int, help="trials for this worker to run")
    p.add_argument(
        "--time-budget",
        type=float,
        help="seconds this worker runs trials (a worker only searches: no refit, report, save)",
    )
    p.set_defaults(handler=commands.cmd_worker)
    _add_deploy_commands(sub)
    return parser


def _add_deploy_commands(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="export a saved model as one ONNX graph (or TorchScript)",
        description="Write the predict path of the model in MODEL_DIR to OUT as one ONNX graph "
        "(or TorchScript for torch models), checked against the model's own predictions "
        "before it is written; prints the export's metadata.",
    )
    p.add_argument("model_dir")
    p.add_argument("out", help="file to write (e.g. model.onnx)")
    p.add_argument(
        "--format", choices=("onnx", "torchscript"), default="onnx", help="default onnx"
    )
    p.add_argument(
        "--data",
        help="rows to check the export on (a CSV/TSV/Parquet file, an image or IDX folder); "
        "default: rows drawn from the training reference kept in the model folder, which also "
        "make up given rows to 100; the task's edge rows are checked besides",
    )
    p.set_defaults(handler=commands.cmd_export)

    p = sub.add_parser(
        "serve",
        help="serve a saved model over HTTP with Prometheus metrics",
        description="Serve the model in MODEL_DIR: POST /predict, POST /feedback, GET /health, "
        "GET /metadata, GET /metrics (Prometheus), /docs. A model folder that fails its "
        "checksums is refused.",
    )
    p.add_argument("model_dir")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; use 0.0.0.0 only on purpose)",
    )
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--window", type=int, default=1000, help="rows of the rolling drift window (default 1000)"
    )
    p.add_argument(
        "--max-body-mb", type=float, default=10.0, help="largest request body (default 10 MB)"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads one prediction may use (OpenMP, BLAS, torch; default 1: requests run "
        "side by side; 0: the libraries' defaults)",
    )
    p.add_argument(
        "--token",
        help="bearer token that POST /predict, POST /feedback and GET /metadata need "
        "(Authorization: Bearer TOKEN; at least 16 characters); default: $AUTOML_SERVE_TOKEN, "
        "which keeps it out of the process list; unset: no token. /health and /metrics stay open",
    )
    p.set_defaults(handler=commands.cmd_serve)

    p = sub.add_parser(
        "monitor",
        help="drift report of new data against a saved model's training data",
        description="Compare DATA with the training data of the model in MODEL_DIR: writes a "
        "self-contained HTML drift report and a JSON summary with a drift flag per feature "
        '(exit status 0 either way; read the summary\'s "drift").',
    )
    p.add_argument("model_dir")
    p.add_argument("data", help="a CSV/TSV/Parquet file, an image folder or an IDX folder")
    p.add_argument(
        "--labels",
        help="column of DATA holding true labels: adds metrics (default: the model's target "
        "column, when DATA holds it)",
    )
    p.add_argument(
        "--out", default="drift", help="output folder (default drift/): report.html, summary.json"
    )
    p.set_defaults(handler=commands.cmd_monitor)


def _add_search_options(p: argparse.ArgumentParser) -> None:
    """The flags of fit's settings (``automl.settings.SETTINGS``), and the data's own."""
    from automl.settings import SETTINGS

    p.add_argument("--target", help="target column (tables, text CSVs)")
    p.add_argument("--text-column", help="the text column of a table (text task)")
    for s in SETTINGS:
        if s.cli is None:
            continue
        if s.cli.negate:
            p.add_argument(s.cli.spelling, action="store_true", help=f"{s.help}: off")
            continue
        shown = "" if s.default is None else f" (default {s.default})"
        shown += f"; {s.cli.note}" if s.cli.note else ""
        p.add_argument(
            s.cli.spelling,
            type=s.cli.type,
            choices=s.cli.choices,
            default=s.default,
            help=f"{s.help}{shown}",
        )


# -- commands --------------------------------------------------------------------------------
def entry(argv: Any = None) -> None:
    sys.exit(main(argv))


if __name__ == "__main__":
    entry()
