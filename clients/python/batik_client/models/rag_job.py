from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.job_state import JobState
from ..models.response_format import ResponseFormat
from ..models.stage import Stage
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.job_error import JobError
    from ..models.job_progress import JobProgress
    from ..models.rag_response import RagResponse


T = TypeVar("T", bound="RagJob")


@_attrs_define
class RagJob:
    """`GET /v1/jobs/{id}` on the gateway: a RAG flow run as a job.

    Attributes:
        created_at (float):
        job_id (str):
        kind (str):
        progress (JobProgress):
        state (JobState): Where a job is: queued, running, or one of the three ends.
        updated_at (float):
        callback_url (None | str | Unset): The job's webhook, if it has one.
        cancel_requested (bool | Unset):  Default: False.
        error (JobError | None | Unset):
        generation_job_id (None | str | Unset): The generation service's job behind the generation stage, once
            submitted.
        response_format (ResponseFormat | Unset): How an answer carries its images: inline base64 PNG, or signed
            expiring URLs.
        result (None | RagResponse | Unset):
        stage (None | Stage | Unset): The stage running now (or the last one reached); null before the first.
    """

    created_at: float
    job_id: str
    kind: str
    progress: JobProgress
    state: JobState
    updated_at: float
    callback_url: None | str | Unset = UNSET
    cancel_requested: bool | Unset = False
    error: JobError | None | Unset = UNSET
    generation_job_id: None | str | Unset = UNSET
    response_format: ResponseFormat | Unset = UNSET
    result: None | RagResponse | Unset = UNSET
    stage: None | Stage | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.job_error import JobError  # noqa: PLC0415
        from ..models.rag_response import RagResponse  # noqa: PLC0415

        created_at = self.created_at

        job_id = self.job_id

        kind = self.kind

        progress = self.progress.to_dict()

        state = self.state.value

        updated_at = self.updated_at

        callback_url: None | str | Unset
        if isinstance(self.callback_url, Unset):
            callback_url = UNSET
        else:
            callback_url = self.callback_url

        cancel_requested = self.cancel_requested

        error: dict[str, Any] | None | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        elif isinstance(self.error, JobError):
            error = self.error.to_dict()
        else:
            error = self.error

        generation_job_id: None | str | Unset
        if isinstance(self.generation_job_id, Unset):
            generation_job_id = UNSET
        else:
            generation_job_id = self.generation_job_id

        response_format: str | Unset = UNSET
        if not isinstance(self.response_format, Unset):
            response_format = self.response_format.value

        result: dict[str, Any] | None | Unset
        if isinstance(self.result, Unset):
            result = UNSET
        elif isinstance(self.result, RagResponse):
            result = self.result.to_dict()
        else:
            result = self.result

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
                "kind": kind,
                "progress": progress,
                "state": state,
                "updated_at": updated_at,
            }
        )
        if callback_url is not UNSET:
            field_dict["callback_url"] = callback_url
        if cancel_requested is not UNSET:
            field_dict["cancel_requested"] = cancel_requested
        if error is not UNSET:
            field_dict["error"] = error
        if generation_job_id is not UNSET:
            field_dict["generation_job_id"] = generation_job_id
        if response_format is not UNSET:
            field_dict["response_format"] = response_format
        if result is not UNSET:
            field_dict["result"] = result
        if stage is not UNSET:
            field_dict["stage"] = stage

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.job_error import JobError  # noqa: PLC0415
        from ..models.job_progress import JobProgress  # noqa: PLC0415
        from ..models.rag_response import RagResponse  # noqa: PLC0415

        d = dict(src_dict)
        created_at = d.pop("created_at")

        job_id = d.pop("job_id")

        kind = d.pop("kind")

        progress = JobProgress.from_dict(d.pop("progress"))

        state = JobState(d.pop("state"))

        updated_at = d.pop("updated_at")

        def _parse_callback_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        callback_url = _parse_callback_url(d.pop("callback_url", UNSET))

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

        def _parse_generation_job_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        generation_job_id = _parse_generation_job_id(d.pop("generation_job_id", UNSET))

        _response_format = d.pop("response_format", UNSET)
        response_format: ResponseFormat | Unset
        if isinstance(_response_format, Unset):
            response_format = UNSET
        else:
            response_format = ResponseFormat(_response_format)

        def _parse_result(data: object) -> None | RagResponse | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                result_type_0 = RagResponse.from_dict(data)

                return result_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RagResponse | Unset, data)

        result = _parse_result(d.pop("result", UNSET))

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

        rag_job = cls(
            created_at=created_at,
            job_id=job_id,
            kind=kind,
            progress=progress,
            state=state,
            updated_at=updated_at,
            callback_url=callback_url,
            cancel_requested=cancel_requested,
            error=error,
            generation_job_id=generation_job_id,
            response_format=response_format,
            result=result,
            stage=stage,
        )

        rag_job.additional_properties = d
        return rag_job

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
