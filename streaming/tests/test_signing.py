"""The playback signing key: settings first, else (development only) the local emulator's newest key."""

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
