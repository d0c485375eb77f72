from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.job_state import JobState
from ..models.stage import Stage
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.job_error import JobError
    from ..models.job_progress import JobProgress


T = TypeVar("T", bound="RagJobSummary")


@_attrs_define
class RagJobSummary:
    """One job of `GET /v1/jobs`: its record without the answer (read that at `status_url`).

    Attributes:
        created_at (float):
        job_id (str):
        progress (JobProgress):
        state (JobState): Where a job is: queued, running, or one of the three ends.
        status_url (str): `/v1/jobs/{job_id}`: the record with its answer.
        updated_at (float):
        cancel_requested (bool | Unset):  Default: False.
        error (JobError | None | Unset):
        stage (None | Stage | Unset):
    """

    created_at: float
    job_id: str
    progress: JobProgress
    state: JobState
    status_url: str
    updated_at: float
    cancel_requested: bool | Unset = False
    error: JobError | None | Unset = UNSET
    stage: None | Stage | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.job_error import JobError  # noqa: PLC0415

        created_at = self.created_at

        job_id = self.job_id

        progress = self.progress.to_dict()

        state = self.state.value

        status_url = self.status_url

        updated_at = self.updated_at

        cancel_requested = self.cancel_requested

        error: dict[str, Any] | None | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        elif isinstance(self.error, JobError):
            error = self.error.to_dict()
        else:
            error = self.error

        stage: None | str | Unset
        if isinstance(self.stage, Unset):
            stage = UNSET
        elif isinstance(self.stage, Stage):
            stage = self.stage.value
        else:
            stage = self.stage

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "job_id": job_id,
                "progress": progress,
                "state": state,
                "status_url": status_url,
                "updated_at": updated_at,
            }
        )
        if cancel_requested is not UNSET:
            field_dict["cancel_requested"] = cancel_requested
        if error is not UNSET:
            field_dict["error"] = error
        if stage is not UNSET:
            field_dict["stage"] = stage

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.job_error import JobError  # noqa: PLC0415
        from ..models.job_progress import JobProgress  # noqa: PLC0415

        d = dict(src_dict)
        created_at = d.pop("created_at")

        job_id = d.pop("job_id")

        progress = JobProgress.from_dict(d.pop("progress"))

        state = JobState(d.pop("state"))

        status_url = d.pop("status_url")

        updated_at = d.pop("updated_at")

        cancel_requested = d.pop("cancel_requested", UNSET)

        def _parse_error(data: object) -> JobError | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = JobError.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobError | None | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_stage(data: object) -> None | Stage | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                stage_type_0 = Stage(data)

                return stage_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Stage | Unset, data)

        stage = _parse_stage(d.pop("stage", UNSET))

        rag_job_summary = cls(
            created_at=created_at,
            job_id=job_id,
            progress=progress,
            state=state,
            status_url=status_url,
            updated_at=updated_at,
            cancel_requested=cancel_requested,
            error=error,
            stage=stage,
        )

        rag_job_summary.additional_properties = d
        return rag_job_summary

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
