"""What the dashboard's sidebar sends: the repeat type only with a seamless tile."""

from dashboard.client import Query
from services.common.contracts.gateway import RagRequest, RemixRequest


def test_the_repeat_goes_with_the_tile_and_into_a_remix():
    tiled = Query(text="kawung", tile=True, repeat="half_drop")
    assert tiled.fields()["repeat"] == "half_drop"
    assert RagRequest.model_validate(tiled.fields()).repeat == "half_drop"
    assert RemixRequest.model_validate(tiled.remix_fields()).repeat == "half_drop"
    # Untiled, the select box is off and nothing is sent (the gateway would refuse it: 422).
    assert "repeat" not in Query(text="kawung", repeat="half_brick").fields()
    # Sent even when full, so a remix of a half-drop design can go back to the full drop.
    assert Query(text="kawung", tile=True).remix_fields()["repeat"] == "full"
