"""The playback signing key: settings first, else (development only) the local emulator's newest key."""

from freezegun import freeze_time

from streaming import signing
from streaming.emulator import EmulatorConfig
from streaming.emulator.core import Emulator


def test_dev_signing_key_reads_the_emulators_state_file(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    assert signing.dev_signing_key() is None

    emulator = Emulator(EmulatorConfig(state_file=signing.dev_emulator_state_path(), storage_dir=tmp_path))
    emulator.create_signing_key()
    newest = emulator.create_signing_key()

    assert signing.dev_signing_key() == (newest["id"], newest["private_key"])
    settings.MUX_SIGNING_KEY_ID = ""
    assert signing.playback_signing_key() == (newest["id"], newest["private_key"])
    settings.MUX_SIGNING_KEY_ID, settings.MUX_SIGNING_PRIVATE_KEY = "configured", "cHJpdmF0ZQ=="
    assert signing.playback_signing_key() == ("configured", "cHJpdmF0ZQ==")


def test_dev_signing_key_is_never_used_in_production(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    Emulator(
        EmulatorConfig(state_file=signing.dev_emulator_state_path(), storage_dir=tmp_path)
    ).create_signing_key()
    settings.IS_PRODUCTION = True

    assert signing.dev_signing_key() is None


def test_a_grant_is_reused_briefly_then_signed_anew(mux_emulator, settings):
    settings.MUX_PLAYBACK_TOKEN_TTL_SECONDS = 3600
    with freeze_time("2026-12-01 10:00:00") as clock:
        first = signing.playback_grant(playback_id="pid-reuse")
        clock.tick(10)
        again = signing.playback_grant(playback_id="pid-reuse")
        other = signing.playback_grant(playback_id="pid-other")
        clock.tick(signing.GRANT_REUSE_SECONDS)
        later = signing.playback_grant(playback_id="pid-reuse")

    assert again == first  # the same three signed tokens, no new signatures
    assert other.playback_id == "pid-other"
    assert other.stream_url != first.stream_url
    assert later.stream_url != first.stream_url
    assert (later.expires_at - first.expires_at).total_seconds() == 10 + signing.GRANT_REUSE_SECONDS


def test_a_short_token_lifetime_shortens_the_reuse(mux_emulator, settings):
    settings.MUX_PLAYBACK_TOKEN_TTL_SECONDS = 8  # reuse at most 2 s (a quarter)
    with freeze_time("2026-12-01 10:00:00") as clock:
        first = signing.playback_grant(playback_id="pid-short")
        clock.tick(3)
        later = signing.playback_grant(playback_id="pid-short")

    assert later != first
