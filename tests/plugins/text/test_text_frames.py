"""A text model predicts a DataFrame however it was fitted: from ``(texts, labels)`` it takes
the frame's only column of strings (an id beside it is left out); a frame of several string
columns is an error naming them; a model fitted from a named Series or a frame takes the
column named at fit, and test rows holding the target are scored without ``y``."""

import numpy as np
import pytest

import automl


def _fit(texts, labels):
    return automl.fit(
        (texts, labels),
        models=["tfidf_linear"],
        n_trials=1,
        cv_folds=0,
        ensemble=False,
        refit=False,
        storage=":memory:",
        verbose=False,
    )


@pytest.fixture(scope="module")
def split(sms):
    return sms.iloc[:240].reset_index(drop=True), sms.iloc[240:].reset_index(drop=True)


@pytest.fixture(scope="module")
def from_lists(split):
    train, _ = split
    return _fit(train["text"].tolist(), train["label"].tolist())


def test_a_model_fitted_from_lists_takes_a_frames_only_string_column(from_lists, split):
    _, test = split
    expected = from_lists.predict(test["text"].tolist())
    with_id = test[["text"]].assign(id=np.arange(len(test)))  # an id beside the texts
    assert list(from_lists.predict(with_id)) == list(expected)
    assert from_lists.predict_proba(with_id).shape == (len(test), 2)


def test_several_string_columns_and_no_name_at_fit_is_an_error_naming_them(from_lists, split):
    _, test = split
    with pytest.raises(automl.DataError, match=r"2 columns of strings \['text', 'label'\]"):
        from_lists.predict(test)
    with pytest.raises(automl.DataError, match="pass the texts alone"):
        from_lists.evaluate(test[["text", "label"]], test["label"])


def test_a_model_fitted_from_named_series_takes_their_columns_from_a_frame(split, tmp_path):
    train, test = split
    model = _fit(train["text"], train["label"])  # Series named "text" and "label"
    expected = model.predict(test["text"].tolist())
    assert list(model.predict(test)) == list(expected)  # the label column is left out
    assert model.score(test) == model.score(test["text"], test["label"])  # labels from the frame
    loaded = automl.load(model.save(str(tmp_path / "model")))
    assert list(loaded.predict(test.assign(id=1))) == list(expected)
    other = test.rename(columns={"text": "body"}).assign(note="seen")
    with pytest.raises(automl.DataError, match="text column 'text' .* is not in the data"):
        loaded.predict(other)
