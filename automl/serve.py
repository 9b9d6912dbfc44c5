"""``automl serve``: a model folder behind HTTP (FastAPI + uvicorn), watched by Prometheus.

Endpoints: ``POST /predict`` (JSON rows as the task reads them: records or columns of a table,
strings, base64 PNG/JPEG images) returns predictions, probabilities, the class names and an id
per row; ``POST /feedback`` takes true labels for those ids; ``GET /health``; ``GET /metadata``;
``GET /metrics`` (Prometheus text format); ``/docs`` (Swagger UI), ``/redoc`` and
``/openapi.json``, which describe the task's rows (``automl.serve_docs``), from local files.

Bad input gets a 4xx JSON ``{"error": ...}`` naming the problem and the server keeps serving; an
unexpected error is a JSON 500, logged with its traceback; every answer is counted. POSTs need
``Content-Type: application/json`` (so that no web page can post without a CORS preflight) and,
when the server has a token (``--token`` or ``$AUTOML_SERVE_TOKEN``), ``Authorization: Bearer``
(``automl.serve_checks`` says which endpoints). Options are checked before the model is loaded.
The model folder is verified against its manifest when the server starts (a damaged folder is
refused). Drift is the PSI of each monitored statistic (``automl.drift``) over a rolling window
of the last ``window`` predicted rows, computed when ``/metrics`` is scraped.
"""

import asyncio
import itertools
import logging
import threading
import time
import uuid
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from automl.errors import DataError
from automl.serve_checks import (
    TooDeep,
    access_line,
    check_options,
    check_port,
    check_token,
    parse_json,
    refused_before_body,
    resolve_token,
)

EXTRA = "deploy"
WINDOW = 1000  # rows of the rolling drift window
FEEDBACK_WINDOW = 1000  # labelled rows behind the live accuracy / error
REMEMBERED_IDS = 100_000  # predictions kept for feedback, oldest dropped first
MAX_BODY_BYTES = 10 * 2**20
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# threads per prediction: requests already run side by side, and a library's own thread pool per
# small request costs more than it gains (hist_gb on 256 rows, 2 busy cores: 428 ms with
# OpenMP's default threads, 25 ms with one)
THREADS = 1
WORKERS = 4  # predictions handled at once (Python holds the GIL between library calls)
ENDPOINTS = ("/predict", "/feedback", "/health", "/metadata", "/metrics")
log = logging.getLogger("automl.serve")


def require(module: str) -> Any:
    """Import an optional dependency of the ``deploy`` extra, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"{module} is needed here: install the deploy extra, pip install 'automl-nn[{EXTRA}]'"
        ) from None


class ServedModel:
    """A loaded model with its request metrics, drift window and feedback store."""

    def __init__(self, result: Any, task: Any, window: int = WINDOW) -> None:
        from automl.monitor import require_reference

        prom = require("prometheus_client")
        require_reference(result)
        self.result, self.task, self.window = result, task, int(window)
        self.lock = threading.Lock()
        self.regression = result.problem_type == "regression"
        self.classes = None if self.regression else [str(c) for c in result.classes_]
        drift = result.drift
        self.bins = np.zeros((self.window, len(drift.features)), dtype=np.int64)
        self.pred_bins = np.zeros(self.window, dtype=np.int64)
        self.filled, self.pos = 0, 0
        self.remembered: OrderedDict[str, float] = OrderedDict()
        self.labelled: deque[float] = deque(maxlen=FEEDBACK_WINDOW)
        self.prefix, self.counter = uuid.uuid4().hex[:8], itertools.count()

        self.registry = prom.CollectorRegistry()
        m = {"registry": self.registry}
        self.requests = prom.Counter(
            "automl_requests", "HTTP requests by endpoint", ["endpoint"], **m
        )
        self.errors = prom.Counter(
            "automl_request_errors",
            "HTTP 4xx/5xx answers by endpoint",
            ["endpoint", "status"],
            **m,
        )
        self.latency = prom.Histogram(
            "automl_request_latency_seconds",
            "Request latency by endpoint",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            **m,
        )
        self.rows = prom.Counter("automl_rows_predicted", "Rows predicted", **m)
        if self.regression:
            edges = sorted({float(e) for e in drift.prediction.edges})
            self.values = prom.Histogram(
                "automl_predicted_value", "Predicted values", buckets=edges or (0.0,), **m
            )
        else:
            self.predicted = prom.Counter(
                "automl_predicted_class", "Predicted rows by class", ["class"], **m
            )
            for name in self.classes:
                self.predicted.labels(name)
        self.feedback = prom.Counter("automl_feedback", "Labels received on /feedback", **m)
        self.unknown_ids = prom.Counter(
            "automl_feedback_unknown_ids", "Feedback for ids this server does not hold", **m
        )
        self.registry.register(_Live(self))

    # -- predicting ----------------------------------------------------------------------------
    def predict(self, payload: Any) -> dict[str, Any]:
        """Predict the rows of a parsed JSON body; DataError for rows the task cannot read."""
        rows = self.task.parse_rows(payload, self.result.features)
        output = self.result._output(rows)
        table = self.result.profile.measure(rows)
        n = len(output)
        ids = [f"{self.prefix}-{next(self.counter)}" for _ in range(n)]
        answer: dict[str, Any] = {"ids": ids}
        if self.regression:
            values = np.asarray(output, dtype=np.float64)
            answer["predictions"] = values.tolist()
            predicted_bins = self.result.drift.prediction.index(values)
            kept = values
        else:
            index = np.asarray(output).argmax(axis=1)
            labels = self.result.target.decode(index)
            answer["predictions"] = [_plain(v) for v in np.asarray(labels, dtype=object)]
            answer["probabilities"] = np.round(np.asarray(output, dtype=np.float64), 8).tolist()
            answer["classes"] = [_plain(c) for c in self.result.classes_]
            predicted_bins = np.asarray(index, dtype=np.int64)  # class i is bin i
            kept = index.astype(np.float64)
        bins = self.result.drift.index_table(table)
        with self.lock:
            self.rows.inc(n)
            if self.regression:
                for v in values:
                    self.values.observe(float(v))
            else:
                for name, count in zip(*np.unique(index, return_counts=True)):
                    self.predicted.labels(self.classes[int(name)]).inc(int(count))
            self._into_window(bins, predicted_bins)
            for key, value in zip(ids, kept):
                self.remembered[key] = float(value)
            while len(self.remembered) > REMEMBERED_IDS:
                self.remembered.popitem(last=False)
        return answer

    def _into_window(self, bins: np.ndarray, predicted: np.ndarray) -> None:
        for row, pred in zip(bins[-self.window :], predicted[-self.window :]):
            self.bins[self.pos], self.pred_bins[self.pos] = row, pred
            self.pos = (self.pos + 1) % self.window
            self.filled = min(self.filled + 1, self.window)

    # -- feedback ------------------------------------------------------------------------------
    def take_feedback(self, payload: Any) -> dict[str, Any]:
        """``{"id": ..., "label": ...}`` or ``{"items": [...]}``: true labels of predicted rows."""
        items = payload.get("items") if isinstance(payload, dict) else None
        if items is None and isinstance(payload, dict) and "id" in payload:
            items = [payload]
        if not isinstance(items, list) or not items:
            raise DataError('send {"id": "...", "label": ...} or {"items": [{"id", "label"}]}')
        for i, item in enumerate(items):
            if not isinstance(item, dict) or "id" not in item or "label" not in item:
                raise DataError(f'feedback item {i} needs "id" and "label"')
        truth = self.result.target.encode([item["label"] for item in items])
        if self.regression and not np.isfinite(truth).all():
            i = int(np.flatnonzero(~np.isfinite(truth))[0])
            raise DataError(
                f"feedback item {i} has the label {items[i]['label']!r}, not a finite number "
                "(float32's range): send the true value as a JSON number; nothing was recorded"
            )
        matched = 0
        with self.lock:
            for item, y in zip(items, truth):
                predicted = self.remembered.get(str(item["id"]))
                if predicted is None:
                    self.unknown_ids.inc()
                    continue
                matched += 1
                self.feedback.inc()
                self.labelled.append(
                    float(predicted - y) if self.regression else float(predicted == y)
                )
        return {"received": len(items), "matched": matched, "unknown": len(items) - matched}

    # -- reading the window ----------------------------------------------------------------------
    def drift_now(self) -> tuple[list[Any], Any, int]:
        """(feature comparisons, prediction comparison, rows) over the current window."""
        from automl.drift import compare

        with self.lock:
            n = self.filled
            bins, pred = self.bins[:n].copy(), self.pred_bins[:n].copy()
        drift = self.result.drift
        features = [
            compare(f, np.bincount(bins[:, j], minlength=f.n_bins))
            for j, f in enumerate(drift.features)
        ]
        prediction = compare(
            drift.prediction, np.bincount(pred, minlength=drift.prediction.n_bins)
        )
        return features, prediction, n

    def metadata(self) -> dict[str, Any]:
        r = self.result
        return {
            "task": r.task,
            "problem_type": r.problem_type,
            "features": self.task.describe_features(r.features),
            "classes": None if self.regression else [_plain(c) for c in r.classes_],
            "positive_class": r.positive_class,
            "metric": r.metric,
            "validation_score": r.valid_score,
            "model": r.describe(),
            "members": r.ensemble,
            "drift": {
                "statistic": "psi",
                "threshold": 0.2,
                "window_rows": self.window,
                "monitored": [f.name for f in r.drift.features],
            },
        }


class _Live:
    """Collector of what is computed at scrape time: drift over the window, live metrics."""

    def __init__(self, served: ServedModel) -> None:
        self.served = served

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        features, prediction, n = self.served.drift_now()
        window = GaugeMetricFamily("automl_drift_window_rows", "Rows in the drift window")
        window.add_metric([], n)
        psi = GaugeMetricFamily(
            "automl_feature_drift_psi",
            "PSI of each monitored feature over the window",
            labels=["feature"],
        )
        flag = GaugeMetricFamily(
            "automl_feature_drift",
            "1 when the feature's PSI is over its threshold",
            labels=["feature"],
        )
        for c in features:
            psi.add_metric([c.name], c.psi if n else 0.0)
            flag.add_metric([c.name], float(c.drifted))
        pred = GaugeMetricFamily("automl_prediction_drift_psi", "PSI of the predictions")
        pred.add_metric([], prediction.psi if n else 0.0)
        yield from (window, psi, flag, pred)
        with self.served.lock:
            labelled = np.array(self.served.labelled, dtype=np.float64)
        rows = GaugeMetricFamily("automl_live_labelled_rows", "Labelled rows behind live metrics")
        rows.add_metric([], len(labelled))
        yield rows
        if not len(labelled):
            return
        if self.served.regression:
            mae = GaugeMetricFamily("automl_live_mae", "Mean absolute error of labelled rows")
            mae.add_metric([], float(np.abs(labelled).mean()))
            rmse = GaugeMetricFamily("automl_live_rmse", "Root mean squared error")
            rmse.add_metric([], float(np.sqrt((labelled**2).mean())))
            yield from (mae, rmse)
        else:
            acc = GaugeMetricFamily("automl_live_accuracy", "Accuracy of labelled rows")
            acc.add_metric([], float(labelled.mean()))
            yield acc


def _plain(value: Any) -> Any:
    """A JSON value: numpy scalars as Python ones."""
    return value.item() if isinstance(value, np.generic) else value


# -- the app --------------------------------------------------------------------------------------
def create_app(  # noqa: C901
    model_dir: str,
    *,
    window: int = WINDOW,
    max_body_bytes: int = MAX_BODY_BYTES,
    threads: int | None = THREADS,
    token: str | None = None,
) -> Any:
    """The FastAPI app serving the model folder ``model_dir`` (verified on load); ``threads``
    caps the threads each prediction may use (OpenMP, BLAS, torch; None: the libraries'
    defaults); ``token``, when given, is the bearer token the guarded endpoints need."""
    check_options(window, max_body_bytes, threads)
    if token is not None:
        check_token(token, "token=")
    require("fastapi")
    prom = require("prometheus_client")
    from fastapi import Request
    from fastapi.responses import JSONResponse, Response

    import automl
    from automl.serve_docs import api_docs

    result = automl.load(model_dir)
    served = ServedModel(result, result.plugin(), window)
    # predictions run in our own worker threads: OpenMP's thread count is a per-thread setting,
    # so each worker caps its own when it starts (a cap set on the main thread alone left
    # FastAPI's workers on OpenMP's default: 1.2 s instead of 25 ms for 256 rows of hist_gb)
    workers = ThreadPoolExecutor(
        max_workers=WORKERS,
        thread_name_prefix="automl-predict",
        initializer=None if threads is None else limit_threads,
        initargs=() if threads is None else (threads,),
    )
    # the docs' Swagger UI and ReDoc from files fastapi-offline ships, not from a CDN: /docs
    # works on a machine without internet
    offline = require("fastapi_offline")
    app = offline.FastAPIOffline(
        title=f"automl: {result.describe()}",
        description=f"Task {result.task}, {result.problem_type}; see GET /metadata.",
        version=automl.__version__,
    )
    app.state.served = served
    docs = api_docs(
        served.task.row_format(result.features),
        None if served.regression else [_plain(c) for c in result.classes_],
        token is not None,
    )
    docs.install(app)

    def error(status: int, message: str, headers: dict[str, str] | None = None) -> Any:
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    @app.middleware("http")
    async def measure(request, call_next):
        endpoint = request.url.path if request.url.path in ENDPOINTS else "other"
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception as exc:  # a bug or a resource running out: answered, logged, counted
            log.exception("%s %s failed", request.method, endpoint)
            response = error(
                500,
                f"internal error ({type(exc).__name__}) while answering {request.method} "
                f"{endpoint}; the server log has the details",
            )
        served.requests.labels(endpoint).inc()
        served.latency.labels(endpoint).observe(time.perf_counter() - started)
        if response.status_code >= 400:
            served.errors.labels(endpoint, str(response.status_code)).inc()
        return response

    def refusal(request, has_body: bool) -> Any:
        """The 401 or 415 answer a request gets before its body is read, or None."""
        refused = refused_before_body(request.headers, token, has_body)
        return None if refused is None else error(*refused)

    async def answer(request, work) -> Any:
        refused = refusal(request, has_body=True)
        if refused is not None:
            return refused
        try:
            body = await _read_body(request, max_body_bytes)
            # parsed in a worker too: a large body does not hold up the event loop
            return await asyncio.get_running_loop().run_in_executor(
                workers, lambda: work(_parse_body(body))
            )
        except _HTTPError as exc:
            return error(exc.status, exc.message)
        except (DataError, ValueError, TypeError, KeyError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            return error(422, str(message))

    @app.post("/predict", openapi_extra=docs.extra["/predict"], summary="Predict JSON rows")
    async def predict(request: Request):
        """Body: {"rows": [...]} (tables: records, or {"columns": {...}}; text: strings;
        images: base64 PNG/JPEG). Returns ids, predictions, probabilities and classes."""
        return await answer(request, served.predict)

    @app.post(
        "/feedback", openapi_extra=docs.extra["/feedback"], summary="True labels of predicted rows"
    )
    async def feedback(request: Request):
        """Body: {"id": "...", "label": ...} or {"items": [{"id": ..., "label": ...}]}."""
        return await answer(request, served.take_feedback)

    @app.get("/health")
    def health():
        return {"status": "ok", "model": result.describe()}

    @app.get("/metadata", openapi_extra=docs.extra["/metadata"])
    def metadata(request: Request):
        return refusal(request, has_body=False) or served.metadata()

    @app.get("/metrics")
    def metrics():
        return Response(prom.generate_latest(served.registry), media_type=prom.CONTENT_TYPE_LATEST)

    return app


async def _read_body(request: Any, max_body_bytes: int) -> bytes:
    """A request's body, or an _HTTPError: 413 past ``max_body_bytes`` (read to its end, kept
    only up to the limit), 400 when the client leaves mid-body."""
    from starlette.requests import ClientDisconnect

    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size <= max_body_bytes:
                chunks.append(chunk)
    except ClientDisconnect:
        raise _HTTPError(400, "the client left before sending the whole body") from None
    if size > max_body_bytes:
        raise _HTTPError(
            413,
            f"the body of {size} bytes is over the {max_body_bytes}-byte limit: send fewer "
            "rows per request (or start the server with a larger --max-body-mb)",
        )
    return b"".join(chunks)


def limit_threads(threads: int) -> None:
    """Cap, for the calling thread, the pools of the libraries loaded now (OpenMP's count is
    per thread; BLAS's and torch's are per process)."""
    import sys

    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=int(threads))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(threads))


class _HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _parse_body(body: bytes) -> Any:
    """The JSON of a request body; _HTTPError 400 for an empty, malformed or too deep one."""
    if not body.strip():
        raise _HTTPError(400, "empty body: send a JSON object (see GET /metadata)")
    try:
        return parse_json(body)
    except TooDeep as exc:
        raise _HTTPError(400, str(exc)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _HTTPError(400, f"the body is not valid JSON: {exc}") from None


def serve(
    model_dir: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    window: int = WINDOW,
    max_body_bytes: int = MAX_BODY_BYTES,
    threads: int | None = THREADS,
    token: str | None = None,
) -> None:
    """Serve the model folder until interrupted (uvicorn, one process). ``token``: the bearer
    token the guarded endpoints need; None reads ``$AUTOML_SERVE_TOKEN`` (unset: no token).
    Every option is checked before the model is loaded."""
    check_port(port)
    check_options(window, max_body_bytes, threads)
    token = resolve_token(token)
    uvicorn = require("uvicorn")
    app = create_app(
        model_dir, window=window, max_body_bytes=max_body_bytes, threads=threads, token=token
    )
    where = f"http://{host}:{port} (docs: /docs, metrics: /metrics; {access_line(token)})"
    log.info("serving %s on %s", model_dir, where)
    uvicorn.run(app, host=host, port=port, log_level="warning")
