"""``automl serve``'s OpenAPI description: pydantic models of the bodies and answers of one
served model, built from its task's ``RowFormat`` (the row fields), its classes and whether a
token guards it, so that ``/docs`` shows the rows to send and what comes back.

The models document; they validate nothing: the server reads bodies itself (size limit, JSON
depth) and the task's ``parse_rows`` checks the rows, with errors that name the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel, create_model
from pydantic.json_schema import models_json_schema

from automl.task import RowField, RowFormat

REF = "#/components/schemas/{model}"
PYTHON_TYPES: dict[str, type] = {"number": float, "integer": int, "string": str, "boolean": bool}
MAX_LISTED_CLASSES = 100  # more classes: the labels' type without the list of values
GUARDED = ("/predict", "/feedback", "/metadata")  # what a token guards (automl.serve_checks)


@dataclass
class ApiDocs:
    """What ``create_app`` adds to the OpenAPI document: each path's ``openapi_extra`` and the
    component schemas (and security scheme) those refer to."""

    extra: dict[str, dict[str, Any]]
    schemas: dict[str, Any]
    security: dict[str, Any] = field(default_factory=dict)

    def install(self, app: Any) -> None:
        """Add the components to ``app``'s OpenAPI document (built once, on first request)."""
        build = app.openapi

        def openapi() -> dict[str, Any]:
            if app.openapi_schema is None:
                components = build().setdefault("components", {})
                components.setdefault("schemas", {}).update(self.schemas)
                if self.security:
                    components["securitySchemes"] = self.security
            return app.openapi_schema

        app.openapi = openapi


def api_docs(row_format: RowFormat | None, classes: list[Any] | None, token: bool) -> ApiDocs:
    """The OpenAPI parts of a model whose rows look like ``row_format`` (None: not described),
    with ``classes`` (None: regression), served with or without a bearer token."""
    label = _label_type(classes)
    predict_body, example = _predict_body(row_format)
    feedback_body = _feedback_body(label)
    bodies: list[type[BaseModel]] = [
        predict_body,
        _predict_answer(label, classes is not None),
        feedback_body,
        FeedbackAnswer,
        ErrorAnswer,
    ]
    _, top = models_json_schema([(m, "validation") for m in bodies], ref_template=REF)
    schemas = top["$defs"]
    errors = {
        "400": "an empty body, invalid JSON or JSON nested too deep",
        "413": "a body over the server's --max-body-mb",
        "415": "a POST that is not Content-Type: application/json",
        "422": "rows (or labels) the model cannot read; the error names the problem",
    }
    if token:
        errors["401"] = "a missing or wrong bearer token"
    extra = {
        "/predict": _operation(predict_body, example, "PredictAnswer", errors),
        "/feedback": _operation(feedback_body, None, "FeedbackAnswer", errors),
        "/metadata": {"responses": _errors({"401": errors["401"]})} if token else {},
    }
    security = {}
    if token:
        security = {"bearer": {"type": "http", "scheme": "bearer"}}
        for path in GUARDED:
            extra[path]["security"] = [{"bearer": []}]
    return ApiDocs(extra, schemas, security)


# -- the models -----------------------------------------------------------------------------------
class ErrorAnswer(BaseModel):
    """A refused request: what is wrong and how to fix it."""

    error: str


class FeedbackAnswer(BaseModel):
    """How many labels came, and how many matched ids this server holds."""

    received: int
    matched: int
    unknown: int


def _field_type(f: RowField) -> Any:
    """The Python annotation of one row field (with its JSON Schema format, if any)."""
    if f.type is None:
        return Any
    base: Any = PYTHON_TYPES[f.type]
    if f.format:
        base = Annotated[base, Field(json_schema_extra={"format": f.format})]
    return base | None if f.nullable else base


def _field(f: RowField, by_columns: bool) -> tuple[Any, Any]:
    """A field's ``create_model`` entry: its value, or a list of values (``by_columns``)."""
    value = _field_type(f)
    examples = list(f.examples) or None
    if by_columns and examples:
        examples = [examples[:3]]
    return list[value] if by_columns else value, Field(  # type: ignore[valid-type]
        alias=f.name, title=f.name, description=f.description or None, examples=examples
    )


def _fields(row_format: RowFormat, by_columns: bool = False) -> dict[str, Any]:
    """The row's fields as ``create_model`` keywords, named f0, f1 ... (any column name is
    taken through its alias)."""
    return {f"f{i}": _field(f, by_columns) for i, f in enumerate(row_format.fields)}


def _predict_body(row_format: RowFormat | None) -> tuple[type[BaseModel], Any]:
    """The ``/predict`` body model and an example body (None when a field has no example)."""
    if row_format is None:
        rows_doc = "the rows, as the model's task reads them (see GET /metadata)"
        return create_model(
            "PredictRows", rows=(list[Any], Field(min_length=1, description=rows_doc))
        ), None
    if row_format.record:
        row: Any = create_model(
            "Row", __doc__="One row: a value per field.", **_fields(row_format)
        )
    else:
        only = row_format.fields[0]
        row = Annotated[_field_type(only), Field(title=only.name, description=only.description)]
    rows = create_model(
        "PredictRows",
        __doc__="The rows to predict, one answer each.",
        rows=(list[row], Field(min_length=1)),
    )
    example = _example_row(row_format)
    body = None if example is None else {"rows": [example]}
    if not row_format.by_columns:
        return rows, body
    columns = create_model(
        "Columns",
        __doc__="A list of values per field, rows in order.",
        **_fields(row_format, by_columns=True),
    )
    by_columns = create_model(
        "PredictColumns", __doc__="The rows to predict, by field.", columns=(columns, ...)
    )
    return _either("PredictBody", rows, by_columns, "Records or columns."), body


def _example_row(row_format: RowFormat) -> Any:
    if any(not f.examples for f in row_format.fields):
        return None
    if not row_format.record:
        return row_format.fields[0].examples[0]
    return {f.name: f.examples[0] for f in row_format.fields}


def _label_type(classes: list[Any] | None) -> Any:
    """A predicted label's annotation: one of the classes (listed when few), or a number."""
    if classes is None:
        return float
    kinds = {type(c) for c in classes}
    if len(classes) <= MAX_LISTED_CLASSES and (kinds == {str} or kinds == {int}):
        return Literal[tuple(classes)]
    return Any


def _predict_answer(label: Any, classification: bool) -> type[BaseModel]:
    fields: dict[str, Any] = {
        "ids": (list[str], Field(description="an id per row, to send its true label back")),
        "predictions": (list[label], Field(description="a prediction per row")),
    }
    if classification:
        fields["probabilities"] = (
            list[list[float]],
            Field(description="per row, the probability of each class, in the order of classes"),
        )
        fields["classes"] = (list[label], Field(description="the classes, in order"))
    return create_model("PredictAnswer", __doc__="The predictions, in the rows' order.", **fields)


def _feedback_body(label: Any) -> type[BaseModel]:
    item = create_model(
        "FeedbackItem",
        __doc__="The true label of a predicted row.",
        id=(str, Field(description="the id /predict gave the row")),
        label=(label, ...),
    )
    several = list[item]  # type: ignore[valid-type]
    items = create_model("FeedbackItems", items=(several, Field(min_length=1)))
    return _either("FeedbackBody", item, items, "One label, or several.")


def _either(name: str, one: type, other: type, doc: str) -> type[BaseModel]:
    """A named body model that is ``one`` or ``other``."""
    return type(name, (RootModel[one | other],), {"__doc__": doc})  # type: ignore[valid-type]


# -- the operations -------------------------------------------------------------------------------
def _operation(
    body: type[BaseModel], example: Any, answer: str, errors: dict[str, str]
) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": {"$ref": REF.format(model=body.__name__)}}
    if example is not None:
        media["example"] = example
    ok = {"description": "Successful Response", "content": _json(answer)}
    return {
        "requestBody": {"required": True, "content": {"application/json": media}},
        "responses": {"200": ok, **_errors(errors)},
    }


def _errors(errors: dict[str, str]) -> dict[str, Any]:
    return {
        code: {"description": why, "content": _json("ErrorAnswer")}
        for code, why in sorted(errors.items())
    }


def _json(model: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=model)}}}
