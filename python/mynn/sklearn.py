"""scikit-learn estimators over mynn.Net: MLPClassifier and MLPRegressor.

They follow scikit-learn's conventions (parameters stored unchanged by
__init__, fitted attributes ending in "_"), so they work in Pipeline,
cross_val_score, GridSearchCV and clone.  Requires scikit-learn.

The default optimizer="auto" needs no tuning: it chooses on held-out rows
of the training data (cross-validated up to 1000 rows) among L-BFGS weight
decays, and above 5000 rows Adam with a cosine schedule, stops each
candidate early on its held-out loss, then trains the choice on every row
(`mynn train`'s default; docs/small-data.md).  weight_decay or epochs,
when given, fix theirs; lr names a rate, so with it auto means Adam (the
estimators' optimizer before auto, with epochs 20 unless given).  The
choice is in auto_ after fit."""
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from .net import Net


class _MLP(BaseEstimator):
    def __init__(self, hidden_layer_sizes=(100,), activation="relu", dropout=0.0, optimizer="auto",
                 lr=None, epochs=None, batch_size=32, normalize="standard", patience=0,
                 validation_fraction=0.1, seed=1, threads=None, weight_decay=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.normalize = normalize
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.threads = threads

    def _spec(self, out):
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, (int, np.integer)) else tuple(sizes)
        parts = []
        for h in sizes:
            parts.append("%d:%s" % (int(h), self.activation))
            if self.dropout:
                parts.append("dropout:%r" % float(self.dropout))
        return ",".join(parts + [out])

    def _fit(self, X, y, out):
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise ValueError("X must be 2-D (samples, features), got shape %s" % (X.shape,))
        self.n_features_in_ = X.shape[1]
        norm = None if self.normalize in (None, "none") else self.normalize
        self.net_ = Net(inputs=X.shape[1], layers=self._spec(out), seed=self.seed, normalize=norm)
        opt, epochs = self.optimizer, self.epochs
        if opt == "auto" and self.lr is not None:
            opt = "adam"   # a rate names Adam: the estimators' optimizer before auto
        if opt != "auto" and epochs is None:
            epochs = 20
        kw = dict(epochs=epochs, batch_size=self.batch_size, optimizer=opt, lr=self.lr,
                  weight_decay=self.weight_decay, seed=self.seed, threads=self.threads)
        if self.patience:
            kw.update(patience=self.patience, validation_split=self.validation_fraction)
        self.history_ = self.net_.fit(X, y, **kw)
        self.auto_ = self.history_.auto
        return self

    def _check(self, X):
        if not hasattr(self, "net_"):
            from sklearn.exceptions import NotFittedError
            raise NotFittedError("this %s is not fitted yet; call fit first" % type(self).__name__)
        return np.ascontiguousarray(X, dtype=np.float32)


class MLPClassifier(ClassifierMixin, _MLP):
    """A softmax classifier: hidden_layer_sizes dense layers of activation
    (each followed by dropout when dropout > 0), cross-entropy loss.  Any
    label values (classes_ holds them, sorted)."""

    def fit(self, X, y):
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError("y must be 1-D (one label per sample), got shape %s" % (y.shape,))
        self.classes_, idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("y holds one class only (%r): nothing to learn" % (self.classes_[0],))
        return self._fit(X, idx.astype(np.int32), "%d:softmax" % len(self.classes_))

    def predict_proba(self, X):
        X = self._check(X)
        return self.net_.predict(X).astype(np.float64)

    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class MLPRegressor(RegressorMixin, _MLP):
    """A regressor: hidden_layer_sizes dense layers of activation, a linear
    output per target, mean squared error loss; y [n] or [n, targets]."""

    def fit(self, X, y):
        y = np.asarray(y, dtype=np.float32)
        self._one_target = y.ndim == 1
        y2 = y.reshape(len(y), -1)
        return self._fit(X, y2, "%d" % y2.shape[1])

    def predict(self, X):
        X = self._check(X)
        p = self.net_.predict(X).astype(np.float64)
        return p[:, 0] if self._one_target else p
