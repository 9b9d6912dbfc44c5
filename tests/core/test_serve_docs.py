"""``automl serve``'s docs: the OpenAPI schema of ``/predict`` describes the task's rows (a
table's columns with their types, a text, a base64 image) and each example body predicts;
``/docs`` and ``/redoc`` load only the server's own files, and Swagger UI renders in a headless
Chromium that has no network."""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

from tests.browser import (
    OFFLINE,
    DevTools,
    chromium,
    console_errors,
    evaluate,
    open_page,
    screenshot,
)
from tests.deploy_models import Server, image_model, table_model, text_model


def _openapi(folder: str, **options) -> tuple[dict, object]:
    """The OpenAPI document of the app serving ``folder``, and its served model."""
    from automl.serve import create_app

    app = create_app(folder, **options)
    return app.openapi(), app.state.served


def _schema(spec: dict, ref: dict) -> dict:
    return spec["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_the_predict_schema_names_a_tables_columns_and_its_example_predicts():
    result, folder = table_model()
    spec, served = _openapi(folder)
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    forms = [_schema(spec, ref) for ref in _schema(spec, body["schema"])["anyOf"]]
    assert [sorted(form["properties"]) for form in forms] == [["rows"], ["columns"]]
    row = _schema(spec, forms[0]["properties"]["rows"]["items"])
    columns = list(result.features.input_columns)
    assert list(row["properties"]) == columns and row["required"] == columns
    age, workclass = row["properties"]["age"], row["properties"]["workclass"]
    assert age["anyOf"] == [{"type": "number"}, {"type": "null"}]
    assert workclass["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert "Private" in workclass["description"]
    by_column = _schema(spec, forms[1]["properties"]["columns"])
    assert by_column["properties"]["age"]["type"] == "array"

    answer = _schema(spec, _ok(spec, "/predict"))["properties"]
    classes = [str(c) for c in result.classes_]
    assert answer["predictions"]["items"]["enum"] == classes
    assert answer["probabilities"]["items"]["items"]["type"] == "number"
    feedback = spec["paths"]["/feedback"]["post"]["requestBody"]["content"]["application/json"]
    assert len(_schema(spec, feedback["schema"])["anyOf"]) == 2
    assert "security" not in spec["paths"]["/predict"]["post"]

    predicted = served.predict(body["example"])  # Swagger UI's "Try it out" body as it is
    assert len(predicted["predictions"]) == 1 and predicted["predictions"][0] in classes


def test_a_token_is_declared_as_bearer_security():
    _, folder = table_model()
    spec, _ = _openapi(folder, token="s" * 16)
    assert spec["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer"}
    }
    for path, method in (("/predict", "post"), ("/feedback", "post"), ("/metadata", "get")):
        operation = spec["paths"][path][method]
        assert operation["security"] == [{"bearer": []}]
        assert "401" in operation["responses"]
    assert "security" not in spec["paths"]["/health"]["get"]


@pytest.mark.parametrize(
    ("model", "field_type", "detail"),
    [
        (text_model, {"type": "string"}, "a text"),
        (image_model, {"type": "string", "format": "byte"}, "base64"),
    ],
    ids=["text", "image"],
)
def test_text_and_images_are_rows_of_one_string(model, field_type, detail):
    result, folder = model()
    spec, served = _openapi(folder)
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    rows = _schema(spec, body["schema"])["properties"]["rows"]
    assert {k: rows["items"][k] for k in field_type} == field_type
    assert detail in rows["items"]["description"]
    predicted = served.predict(body["example"])
    assert predicted["predictions"][0] in list(result.classes_)


def test_a_task_without_a_row_format_gets_rows_of_any_json():
    from automl.serve_docs import api_docs

    docs = api_docs(None, None, token=False)
    rows = docs.schemas["PredictRows"]["properties"]["rows"]
    assert rows["type"] == "array" and rows["items"] == {}
    assert "example" not in docs.extra["/predict"]["requestBody"]["content"]["application/json"]
    answer = docs.schemas["PredictAnswer"]["properties"]
    assert answer["predictions"]["items"] == {"type": "number"} and "classes" not in answer


def test_a_bad_row_format_is_refused_with_what_to_use():
    from automl.plugin import RowField, RowFormat

    with pytest.raises(ValueError, match=r"type 'float': use one of \('number'"):
        RowField("x", "float")
    text = RowField("text", "string")
    with pytest.raises(ValueError, match="exactly one field"):
        RowFormat((text, RowField("other", "string")), record=False)
    with pytest.raises(ValueError, match="repeat"):
        RowFormat((text, text))


def _ok(spec: dict, path: str) -> dict:
    return spec["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"]


# -- the pages, over HTTP ---------------------------------------------------------------------
ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.slow  # a server
def test_the_docs_pages_load_only_the_servers_own_files():
    _, folder = table_model()
    with Server(folder) as server:
        for page in ("/docs", "/redoc"):
            status, html = server.get(page)
            assert status == 200
            text = html.decode()
            assets = ASSET.findall(text)
            assert len(assets) >= 2, text
            assert not re.search(r"https?://", text), text  # no CDN, no font service
            for asset in assets:
                assert asset.startswith("/"), asset
                with urllib.request.urlopen(server.url + asset, timeout=60) as reply:
                    assert reply.status == 200 and len(reply.read()) > 1000, asset


@pytest.mark.slow  # a server and a browser
def test_swagger_ui_renders_the_predict_operation_in_chromium_without_network(tmp_path):
    binary = chromium()
    _, folder = table_model()
    shot = tmp_path / "serve-docs.png"
    with Server(folder) as server:
        tools = DevTools(binary, tmp_path / "profile", OFFLINE)
        try:
            # deep-linked to the /predict operation, which Swagger UI opens
            open_page(tools, server.url + "/docs#/default/predict_predict_post", height=1600)
            predict = "#operations-default-predict_predict_post"
            found = _poll(tools, f"!!document.querySelector('{predict}')")
            shown = _poll(
                tools,
                f"(document.querySelector('{predict} .opblock-body') || {{}}).innerText || ''",
                until=lambda text: '"workclass"' in text,
            )
            dom = evaluate(tools, "document.documentElement.outerHTML")
            # "Try it out", then "Execute": the example body posted by the page itself
            evaluate(tools, f"document.querySelector('{predict} .try-out__btn').click()")
            _poll(tools, f"!!document.querySelector('{predict} .execute')")
            evaluate(tools, f"document.querySelector('{predict} .execute').click()")
            live = f"{predict} .live-responses-table .response"
            answered = _poll(
                tools,
                f"(document.querySelector('{live}') || {{}}).innerText || ''",
                until=lambda text: "predictions" in text,
            )
            evaluate(tools, f"document.querySelector('{live}').scrollIntoView()")
            screenshot(tools, shot)  # the answer Swagger UI shows
            errors = console_errors(tools.events)
            requests = [
                e["params"]["request"]["url"]
                for e in tools.events
                if e["method"] == "Network.requestWillBeSent"
            ]
            outside = tools.send(  # the network really is off: a CDN cannot be reached
                "Runtime.evaluate",
                {
                    "expression": "fetch('https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/')"
                    ".then(() => 'reached', () => 'blocked')",
                    "awaitPromise": True,
                    "returnByValue": True,
                },
            )["result"]["value"]
        finally:
            tools.close()
    assert outside == "blocked"
    assert found, "Swagger UI did not render the /predict operation"
    assert '"age": 39' in shown  # the example row, from the table's training medians
    assert "/predict" in dom and "/feedback" in dom and "PredictAnswer" in dom
    assert answered.startswith("200") and '"probabilities"' in answered, answered
    assert errors == []
    assert requests and [u for u in requests if not u.startswith((server.url, "data:"))] == []
    assert shot.stat().st_size > 30_000


def _poll(tools: DevTools, expression: str, until=bool, timeout: float = 60):
    """``expression``'s value once ``until`` holds for it (Swagger UI renders after its
    scripts fetch /openapi.json), or its last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = evaluate(tools, expression)
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)
