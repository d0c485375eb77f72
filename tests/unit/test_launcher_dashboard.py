"""The dashboard's upload box takes what the gateway takes (services/launcher.py)."""

from services.launcher import dashboard_process, streamlit_upload_mb


def _upload_option(process) -> str:
    return process.command[process.command.index("--server.maxUploadSize") + 1]


def test_the_limit_rounds_down_to_whole_mib():
    assert streamlit_upload_mb(10 * 2**20) == 10
    assert streamlit_upload_mb(10 * 2**20 - 1) == 9  # never above the gateway's cap
    assert streamlit_upload_mb(1000) == 1


def test_the_dashboard_reads_the_gateways_setting(monkeypatch):
    monkeypatch.delenv("GATEWAY_MAX_UPLOAD_BYTES", raising=False)
    assert _upload_option(dashboard_process("http://127.0.0.1:8000")) == "10"
    monkeypatch.setenv("GATEWAY_MAX_UPLOAD_BYTES", str(4 * 2**20))
    assert _upload_option(dashboard_process("http://127.0.0.1:8000")) == "4"
    given = dashboard_process("http://127.0.0.1:8000", max_upload_bytes=3 * 2**20)
    assert _upload_option(given) == "3"
