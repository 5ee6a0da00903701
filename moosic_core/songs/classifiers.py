"""The original project's classifier comparison, redone: eight classifiers, then a grid search.

Every model is a pipeline ``MinMaxScaler -> classifier`` (the original min-max scaled its
features). Models are ranked by 5-fold cross-validated accuracy on the training split only;
the held-out split is touched once, for the reported metrics.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.naive_bayes import MultinomialNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

log = logging.getLogger(__name__)
SEED = 42


def _pipe(clf: Any) -> Pipeline:
    return Pipeline([("scale", MinMaxScaler()), ("clf", clf)])


def original_eight() -> dict[str, Pipeline]:
    """The eight classifiers the original compared, with library defaults."""
    return {
        "logistic_regression": _pipe(LogisticRegression(max_iter=2000)),
        "multinomial_nb": _pipe(MultinomialNB()),
        "sgd": _pipe(SGDClassifier(loss="modified_huber", random_state=SEED)),
        "knn": _pipe(KNeighborsClassifier()),
        "decision_tree": _pipe(DecisionTreeClassifier(random_state=SEED)),
        "random_forest": _pipe(RandomForestClassifier(n_estimators=300, n_jobs=2,
                                                      random_state=SEED)),
        "svc": _pipe(SVC(probability=True, random_state=SEED)),
        "mlp": _pipe(MLPClassifier(max_iter=1000, random_state=SEED)),
    }


#: The grid searched for whichever of the eight wins cross-validation.
GRIDS: dict[str, dict[str, list[Any]]] = {
    "logistic_regression": {"clf__C": [0.1, 1.0, 10.0, 100.0]},
    "multinomial_nb": {"clf__alpha": [0.01, 0.1, 1.0]},
    "sgd": {"clf__alpha": [1e-5, 1e-4, 1e-3], "clf__penalty": ["l2", "elasticnet"]},
    "knn": {"clf__n_neighbors": [5, 15, 31], "clf__weights": ["uniform", "distance"]},
    "decision_tree": {"clf__max_depth": [6, 10, None], "clf__min_samples_leaf": [1, 5, 20]},
    "random_forest": {"clf__n_estimators": [300, 600], "clf__max_features": ["sqrt", 0.5],
                      "clf__min_samples_leaf": [1, 2]},
    "svc": {"clf__C": [1.0, 10.0, 100.0], "clf__gamma": ["scale", 1.0]},
    "mlp": {"clf__hidden_layer_sizes": [(64,), (128, 64), (256, 128)],
            "clf__alpha": [1e-4, 1e-3, 1e-2]},
}

#: Ours: gradient-boosted trees, which the original did not try.
BOOSTING = _pipe(HistGradientBoostingClassifier(random_state=SEED))
BOOSTING_GRID: dict[str, list[Any]] = {
    "clf__learning_rate": [0.05, 0.1],
    "clf__max_iter": [150, 300],
    "clf__max_leaf_nodes": [15, 31],
}


@dataclass
class Scored:
    """A fitted model with its cross-validation and held-out metrics."""

    name: str
    model: Pipeline
    cv_accuracy: float
    test: dict[str, float]
    params: dict[str, Any] = field(default_factory=dict)
    fit_seconds: float = 0.0


def held_out_metrics(model: ClassifierMixin, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Accuracy, precision, recall, F1 (macro for several classes) and ROC-AUC."""
    predicted = model.predict(x)
    proba = model.predict_proba(x)
    classes = list(model.classes_)
    binary = len(classes) == 2
    average = "binary" if binary else "macro"
    pos = classes[1] if binary else None
    kwargs: dict[str, Any] = {"average": average, "zero_division": 0}
    if binary:
        kwargs["pos_label"] = pos
    auc = (roc_auc_score(y == pos, proba[:, 1]) if binary
           else roc_auc_score(y, proba, multi_class="ovr", labels=classes))
    return {
        "accuracy": round(float(accuracy_score(y, predicted)), 4),
        "precision": round(float(precision_score(y, predicted, **kwargs)), 4),
        "recall": round(float(recall_score(y, predicted, **kwargs)), 4),
        "f1": round(float(f1_score(y, predicted, **kwargs)), 4),
        "roc_auc": round(float(auc), 4),
    }


def _folds() -> StratifiedKFold:
    return StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)


def compare(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
            ) -> list[Scored]:
    """Cross-validate and test the eight classifiers (default settings)."""
    results = []
    for name, pipe in original_eight().items():
        start = time.perf_counter()
        cv = float(np.mean(cross_val_score(pipe, x_train, y_train, cv=_folds(), n_jobs=1)))
        model = clone(pipe).fit(x_train, y_train)
        results.append(Scored(name, model, round(cv, 4), held_out_metrics(model, x_test, y_test),
                              fit_seconds=round(time.perf_counter() - start, 2)))
        log.info("%s: cv %.4f test %s", name, cv, results[-1].test)
    return results


def grid_search(name: str, pipe: Pipeline, grid: dict[str, list[Any]], x_train: np.ndarray,
                y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> Scored:
    """Grid-search ``pipe`` by 5-fold CV accuracy; refit on all training data; test once."""
    start = time.perf_counter()
    search = GridSearchCV(pipe, grid, cv=_folds(), scoring="accuracy", n_jobs=2)
    search.fit(x_train, y_train)
    model: Pipeline = search.best_estimator_
    params = {k.removeprefix("clf__"): v for k, v in search.best_params_.items()}
    return Scored(name, model, round(float(search.best_score_), 4),
                  held_out_metrics(model, x_test, y_test), params,
                  round(time.perf_counter() - start, 2))
