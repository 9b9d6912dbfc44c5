"""``automl dashboard``: optuna-dashboard over every study storage found under a folder.

Each run keeps its own storage (``studies/<name>/study.db``), so the dashboard needs one view of
many storages: ``StudiesStorage`` joins them (study and trial ids are interleaved, every call goes
to the storage that holds the study). One storage is served as it is.
"""

from __future__ import annotations

import copy
from collections.abc import Container, Sequence
from pathlib import Path
from typing import Any

from optuna.storages import BaseStorage
from optuna.study import StudyDirection
from optuna.study._frozen import FrozenStudy
from optuna.trial import FrozenTrial, TrialState

from automl.errors import DataError


def find_storages(path: str) -> list[tuple[str, Any]]:
    """(label, storage) for a URL, a .db / .log file, or every one under a folder."""
    from automl.search import journal_storage, rdb_storage

    if "://" in path:
        return [(path, rdb_storage(path))]
    root = Path(path)
    if not root.exists():
        raise DataError(f"no such folder or file: {root}")
    files = [root] if root.is_file() else sorted([*root.rglob("*.db"), *root.rglob("*.log")])
    found = []
    for file in files:
        if file.suffix == ".log":
            found.append((str(file), journal_storage(str(file))))
        elif file.suffix == ".db":
            found.append((str(file), rdb_storage(f"sqlite:///{file.resolve()}")))
    if not found:
        raise DataError(f"no study storage (*.db, *.log) under {root}; run `automl fit` first")
    return found


def serve(path: str, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve optuna-dashboard (blocking) and print its URL first."""
    try:
        from optuna_dashboard import run_server
    except ImportError:
        raise DataError(
            "the dashboard needs optuna-dashboard: pip install optuna-dashboard"
        ) from None
    storages = find_storages(path)
    storage = storages[0][1] if len(storages) == 1 else StudiesStorage([s for _, s in storages])
    n = len(storage.get_all_studies())
    print(
        f"serving {n} stud{'y' if n == 1 else 'ies'} from {len(storages)} storage(s) under "
        f"{path} at http://{host}:{port}/dashboard",
        flush=True,
    )
    run_server(storage, host=host, port=port)


class StudiesStorage(BaseStorage):
    """Several storages seen as one (ids interleaved: global = inner * n + index)."""

    def __init__(self, storages: Sequence[BaseStorage]) -> None:
        self.storages = list(storages)
        self.n = len(self.storages)

    # -- id mapping ----------------------------------------------------------------------------
    def _split(self, global_id: int) -> tuple[BaseStorage, int]:
        return self.storages[global_id % self.n], global_id // self.n

    def _join(self, index: int, inner_id: int) -> int:
        return inner_id * self.n + index

    def _trial(self, index: int, trial: FrozenTrial) -> FrozenTrial:
        trial = copy.copy(trial)
        trial._trial_id = self._join(index, trial._trial_id)
        return trial

    # -- studies -------------------------------------------------------------------------------
    def create_new_study(
        self, directions: Sequence[StudyDirection], study_name: str | None = None
    ) -> int:
        return self._join(0, self.storages[0].create_new_study(directions, study_name))

    def delete_study(self, study_id: int) -> None:
        storage, inner = self._split(study_id)
        storage.delete_study(inner)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        storage, inner = self._split(study_id)
        storage.set_study_user_attr(inner, key, value)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        storage, inner = self._split(study_id)
        storage.set_study_system_attr(inner, key, value)

    def get_study_id_from_name(self, study_name: str) -> int:
        for index, storage in enumerate(self.storages):
            try:
                return self._join(index, storage.get_study_id_from_name(study_name))
            except KeyError:
                continue
        raise KeyError(f"no study named {study_name!r}")

    def get_study_name_from_id(self, study_id: int) -> str:
        storage, inner = self._split(study_id)
        return storage.get_study_name_from_id(inner)

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        storage, inner = self._split(study_id)
        return storage.get_study_directions(inner)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        storage, inner = self._split(study_id)
        return storage.get_study_user_attrs(inner)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        storage, inner = self._split(study_id)
        return storage.get_study_system_attrs(inner)

    def get_all_studies(self) -> list[FrozenStudy]:
        studies = []
        for index, storage in enumerate(self.storages):
            for s in storage.get_all_studies():
                studies.append(
                    FrozenStudy(
                        study_name=s.study_name,
                        direction=None,
                        directions=s.directions,
                        user_attrs=s.user_attrs,
                        system_attrs=s.system_attrs,
                        study_id=self._join(index, s._study_id),
                    )
                )
        return studies

    # -- trials --------------------------------------------------------------------------------
    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        storage, inner = self._split(study_id)
        return self._join(study_id % self.n, storage.create_new_trial(inner, template_trial))

    def set_trial_param(
        self, trial_id: int, param_name: str, param_value_internal: float, distribution: Any
    ) -> None:
        storage, inner = self._split(trial_id)
        storage.set_trial_param(inner, param_name, param_value_internal, distribution)

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        storage, inner = self._split(trial_id)
        return storage.set_trial_state_values(inner, state, values)

    def set_trial_intermediate_value(
        self, trial_id: int, step: int, intermediate_value: float
    ) -> None:
        storage, inner = self._split(trial_id)
        storage.set_trial_intermediate_value(inner, step, intermediate_value)

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        storage, inner = self._split(trial_id)
        storage.set_trial_user_attr(inner, key, value)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        storage, inner = self._split(trial_id)
        storage.set_trial_system_attr(inner, key, value)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        storage, inner = self._split(trial_id)
        return self._trial(trial_id % self.n, storage.get_trial(inner))

    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        storage, inner = self._split(study_id)
        index = study_id % self.n
        return [self._trial(index, t) for t in storage.get_all_trials(inner, deepcopy, states)]


__all__ = ["StudiesStorage", "find_storages", "serve"]
