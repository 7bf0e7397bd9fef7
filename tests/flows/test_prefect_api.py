"""Which Prefect API a command uses: a configured one as it is, else a temporary server started early."""

from flows import prefect_api


def test_the_environment_names_the_api(tmp_path):
    environ = {"PREFECT_API_URL": "http://prefect.example:4200/api", "PREFECT_HOME": str(tmp_path)}
    assert prefect_api.configured_api_url(environ) == "http://prefect.example:4200/api"


def test_the_active_profile_names_the_api(tmp_path):
    (tmp_path / "profiles.toml").write_text(
        'active = "prod"\n'
        '[profiles.ephemeral]\nPREFECT_SERVER_ALLOW_EPHEMERAL_MODE = "true"\n'
        '[profiles.prod]\nPREFECT_API_URL = "http://10.0.0.5:4200/api"\n'
    )
    assert prefect_api.configured_api_url({"PREFECT_HOME": str(tmp_path)}) == "http://10.0.0.5:4200/api"
    # PREFECT_PROFILE picks another profile, which names no API
    assert (
        prefect_api.configured_api_url({"PREFECT_HOME": str(tmp_path), "PREFECT_PROFILE": "ephemeral"})
        is None
    )


def test_no_profiles_file_and_no_variable_means_no_api(tmp_path):
    assert prefect_api.configured_api_url({"PREFECT_HOME": str(tmp_path)}) is None
    (tmp_path / "broken.toml").write_text("not = [toml")
    environ = {"PREFECT_HOME": str(tmp_path), "PREFECT_PROFILES_PATH": str(tmp_path / "broken.toml")}
    assert prefect_api.configured_api_url(environ) is None


def test_nothing_starts_once_prefect_is_imported(monkeypatch):
    import prefect  # noqa: F401  (its settings are read: an API set now would not be seen)

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    prefect_api.start_early()
    assert prefect_api._server is None
    prefect_api.wait_until_ready()  # nothing to wait for
