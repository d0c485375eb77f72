"""Contains all the data models used in inputs/outputs"""

from .applied_style import AppliedStyle
from .board import Board
from .board_create import BoardCreate
from .board_list import BoardList
from .board_update import BoardUpdate
from .body_import_design import BodyImportDesign
from .cache_info import CacheInfo
from .caption import Caption
from .channel_score import ChannelScore
from .colorway import Colorway
from .colorway_request import ColorwayRequest
from .colorway_request_palettes_item import ColorwayRequestPalettesItem
from .colorway_response import ColorwayResponse
from .degraded_stage import DegradedStage
from .design import Design
from .design_page import DesignPage
from .design_provenance import DesignProvenance
from .design_ref import DesignRef
from .design_search import DesignSearch
from .design_update import DesignUpdate
from .error_body import ErrorBody
from .error_detail import ErrorDetail
from .error_type import ErrorType
from .export_request import ExportRequest
from .export_request_format import ExportRequestFormat
from .export_request_symmetry import ExportRequestSymmetry
from .export_upload_form import ExportUploadForm
from .export_upload_form_format import ExportUploadFormFormat
from .export_upload_form_symmetry import ExportUploadFormSymmetry
from .fused_prompt import FusedPrompt
from .get_design_image_size import GetDesignImageSize
from .get_reference_image_size import GetReferenceImageSize
from .get_status_response_getstatus import GetStatusResponseGetstatus
from .healthz_response_healthz import HealthzResponseHealthz
from .hit import Hit
from .import_response import ImportResponse
from .import_response_request import ImportResponseRequest
from .import_response_source import ImportResponseSource
from .init_source import InitSource
from .job_created import JobCreated
from .job_error import JobError
from .job_progress import JobProgress
from .job_state import JobState
from .motif import Motif
from .nearest_response import NearestResponse
from .problem import Problem
from .prompt_part import PromptPart
from .prompt_part_kept import PromptPartKept
from .prompt_part_source import PromptPartSource
from .rag_job import RagJob
from .rag_job_page import RagJobPage
from .rag_job_request import RagJobRequest
from .rag_job_summary import RagJobSummary
from .rag_request import RagRequest
from .rag_response import RagResponse
from .rag_response_mode_type_0 import RagResponseModeType0
from .rag_response_symmetry_scores import RagResponseSymmetryScores
from .rag_response_timings_ms import RagResponseTimingsMs
from .rag_upload_form import RagUploadForm
from .readyz_response_readyz import ReadyzResponseReadyz
from .remix_request import RemixRequest
from .repeat import Repeat
from .response_format import ResponseFormat
from .scored_design import ScoredDesign
from .seamless_repeat import SeamlessRepeat
from .stage import Stage
from .style_info import StyleInfo
from .style_list import StyleList
from .style_weight import StyleWeight
from .symmetry import Symmetry

__all__ = (
    "AppliedStyle",
    "Board",
    "BoardCreate",
    "BoardList",
    "BoardUpdate",
    "BodyImportDesign",
    "CacheInfo",
    "Caption",
    "ChannelScore",
    "Colorway",
    "ColorwayRequest",
    "ColorwayRequestPalettesItem",
    "ColorwayResponse",
    "DegradedStage",
    "Design",
    "DesignPage",
    "DesignProvenance",
    "DesignRef",
    "DesignSearch",
    "DesignUpdate",
    "ErrorBody",
    "ErrorDetail",
    "ErrorType",
    "ExportRequest",
    "ExportRequestFormat",
    "ExportRequestSymmetry",
    "ExportUploadForm",
    "ExportUploadFormFormat",
    "ExportUploadFormSymmetry",
    "FusedPrompt",
    "GetDesignImageSize",
    "GetReferenceImageSize",
    "GetStatusResponseGetstatus",
    "HealthzResponseHealthz",
    "Hit",
    "ImportResponse",
    "ImportResponseRequest",
    "ImportResponseSource",
    "InitSource",
    "JobCreated",
    "JobError",
    "JobProgress",
    "JobState",
    "Motif",
    "NearestResponse",
    "Problem",
    "PromptPart",
    "PromptPartKept",
    "PromptPartSource",
    "RagJob",
    "RagJobPage",
    "RagJobRequest",
    "RagJobSummary",
    "RagRequest",
    "RagResponse",
    "RagResponseModeType0",
    "RagResponseSymmetryScores",
    "RagResponseTimingsMs",
    "RagUploadForm",
    "ReadyzResponseReadyz",
    "RemixRequest",
    "Repeat",
    "ResponseFormat",
    "ScoredDesign",
    "SeamlessRepeat",
    "Stage",
    "StyleInfo",
    "StyleList",
    "StyleWeight",
    "Symmetry",
)
