"""mynn.sklearn estimators inside scikit-learn's own machinery."""
import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn absent (apt-get install python3-sklearn)")
from sklearn.base import clone                                      # noqa: E402
from sklearn.datasets import load_iris, make_regression             # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score   # noqa: E402
from sklearn.pipeline import Pipeline                               # noqa: E402
from sklearn.preprocessing import StandardScaler                    # noqa: E402

from mynn.sklearn import MLPClassifier, MLPRegressor                # noqa: E402


@pytest.fixture(scope="module")
def iris():
    x, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]      # any label values
    return x, names


def test_classifier_basics(iris):
    x, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(32,), epochs=60, lr=0.01, seed=3)
    assert clf.fit(x, y) is clf
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"] and clf.n_features_in_ == 4
    p = clf.predict_proba(x)
    assert p.shape == (150, 3) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    assert set(clf.predict(x)) <= set(clf.classes_)
    assert clf.score(x, y) >= 0.95
    assert len(clf.history_) == 60


def test_params_and_clone():
    clf = MLPClassifier(hidden_layer_sizes=(8, 4), dropout=0.1, epochs=3)
    p = clf.get_params()
    assert p["hidden_layer_sizes"] == (8, 4) and p["dropout"] == 0.1 and p["epochs"] == 3
    clf.set_params(epochs=7, activation="tanh")
    c = clone(clf)
    assert c.get_params()["epochs"] == 7 and c.activation == "tanh" and not hasattr(c, "net_")
    assert clf._spec("3:softmax") == "8:tanh,dropout:0.1,4:tanh,dropout:0.1,3:softmax"


def test_not_fitted_and_bad_labels(iris):
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(iris[0])
    with pytest.raises(ValueError, match="one class"):
        MLPClassifier().fit(iris[0], np.zeros(150))


def test_pipeline_cross_val_grid(iris):
    x, y = iris
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", MLPClassifier(hidden_layer_sizes=(16,), epochs=40, lr=0.01, normalize=None))])
    scores = cross_val_score(pipe, x, y, cv=3)
    assert scores.shape == (3,) and scores.mean() >= 0.85
    grid = GridSearchCV(pipe, {"mlp__hidden_layer_sizes": [(4,), (16,)], "mlp__lr": [0.001, 0.01]}, cv=3)
    grid.fit(x, y)
    assert set(grid.best_params_) == {"mlp__hidden_layer_sizes", "mlp__lr"}
    assert grid.best_score_ >= 0.85 and grid.score(x, y) >= 0.85


def test_regressor():
    x, y = make_regression(n_samples=300, n_features=5, noise=1.0, random_state=0)
    y = y / y.std()
    reg = MLPRegressor(hidden_layer_sizes=(32,), epochs=80, lr=0.01, seed=2)
    reg.fit(x, y)
    pred = reg.predict(x)
    assert pred.shape == (300,) and reg.score(x, y) >= 0.95
    scores = cross_val_score(MLPRegressor(hidden_layer_sizes=(16,), epochs=60, lr=0.01), x, y, cv=3)
    assert scores.mean() >= 0.9
    two = MLPRegressor(hidden_layer_sizes=(8,), epochs=5).fit(x, np.stack([y, -y], axis=1))
    assert two.predict(x).shape == (300, 2)


def test_early_stopping(iris):
    x, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(16,), epochs=500, lr=0.01, patience=3, validation_fraction=0.2)
    clf.fit(x, y)
    assert len(clf.history_) < 500 and clf.history_[0]["val_loss"] is not None


def test_default_is_auto(iris):
    """No optimizer, rate or epochs: auto's search on held-out rows."""
    x, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(16,), threads=1).fit(x, y)
    a = clf.auto_
    assert a["optimizer"] == "lbfgs" and a["folds"] == 5 and a["refit"] and len(a["candidates"]) == 8
    assert a["candidates"][a["chosen"]]["weight_decay"] == a["weight_decay"] and len(clf.history_) <= a["epochs"]
    assert clf.score(x, y) >= 0.95
    assert clf.net_.metadata("auto").startswith("lbfgs, weight decay ")
    again = MLPClassifier(hidden_layer_sizes=(16,), threads=2).fit(x, y)
    assert again.auto_["candidates"] == a["candidates"]
    assert np.array_equal(again.predict_proba(x), clf.predict_proba(x))
    x2, y2 = make_regression(n_samples=200, n_features=4, noise=5.0, random_state=1)
    reg = MLPRegressor(hidden_layer_sizes=(16,), weight_decay=0.01).fit(x2, y2 / y2.std())
    assert len(reg.auto_["candidates"]) == 1 and abs(reg.auto_["weight_decay"] - 0.01) < 1e-9
    assert reg.score(x2, y2 / y2.std()) >= 0.9
    fixed = MLPRegressor(hidden_layer_sizes=(8,), epochs=6).fit(x2, y2)
    assert fixed.auto_["epochs"] == 6 and all(c["epochs"] == 6 for c in fixed.auto_["candidates"])


def test_rate_means_adam(iris):
    """lr with the default optimizer: Adam, as the estimators trained before auto (20 epochs)."""
    x, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(8,), lr=0.01).fit(x, y)
    assert clf.auto_ is None and len(clf.history_) == 20
