import pytest


@pytest.mark.django_db
def test_healthz_answers_ok(api_client):
    response = api_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_every_store_ok(api_client):
    response = api_client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"postgres": "ok", "mongo": "ok", "redis": "ok"}


def test_unknown_api_url_is_enveloped_404(api_client):
    response = api_client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "details": {}}}
