"""The studio's signing identity (issue 17): made offline, kept in the config folder with private keys at
0600, never replaced silently, checked when loaded (missing or wrong key: one line, nothing written), a
certificate the studio already has usable with --cert/--key. Tests never touch the real home: every test
points RETOUCH_CONFIG_DIR at its own folder."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from retouch import credentials
from retouch.cli import main
from retouch.credentials import AlreadySetUp, CredentialsError


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "config" / "retouch"
    monkeypatch.setenv(credentials.CONFIG_ENV, str(folder))
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def own_certificate(folder: Path, name: str = "Bought Cert Ltd") -> tuple[Path, Path]:
    """A chain and key as a studio might have from elsewhere (made here with the same recipe)."""
    folder.mkdir(parents=True, exist_ok=True)
    _, _, chain, key = credentials.make_chain(name)
    (folder / "chain.pem").write_bytes(chain)
    (folder / "key.pem").write_bytes(key)
    return folder / "chain.pem", folder / "key.pem"


def other_key_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


# --- where -------------------------------------------------------------------------------------------

def test_config_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(credentials.CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert credentials.config_dir() == tmp_path / "xdg" / "retouch"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert credentials.config_dir() == tmp_path / "home" / ".config" / "retouch"
    monkeypatch.setenv(credentials.CONFIG_ENV, str(tmp_path / "mine"))
    assert credentials.folder() == tmp_path / "mine" / "credentials"


def test_nothing_set_up_means_no_identity(config):
    assert credentials.load() is None
    assert credentials.trust_anchors() == b""


# --- made here ---------------------------------------------------------------------------------------

def test_create_makes_a_ca_and_an_es256_signing_certificate(config):
    identity, moved = credentials.create("Northlight  Studio ")
    assert moved is None and identity.name == "Northlight Studio" and identity.alg == "es256"
    where = credentials.folder()
    assert stat.S_IMODE(where.stat().st_mode) == 0o700
    for key in ("signing.key", "ca.key"):
        assert stat.S_IMODE((where / key).stat().st_mode) == 0o600
    signing, ca = x509.load_pem_x509_certificates((where / "signing.pem").read_bytes())
    assert ca.subject == ca.issuer and signing.issuer == ca.subject
    signing.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert not signing.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert signing.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    usages = signing.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in usages
    assert isinstance(signing.public_key(), ec.EllipticCurvePublicKey)
    assert signing.public_key().curve.name == "secp256r1"
    assert signing.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Northlight Studio"
    assert (identity.expires - signing.not_valid_before_utc).days >= 365 * credentials.SIGNING_YEARS
    assert identity.fingerprint.count(":") == 31
    assert credentials.trust_anchors() == (where / "ca.pem").read_bytes()
    assert "PRIVATE KEY" not in repr(identity)


def test_running_again_changes_nothing_and_force_keeps_the_old_one_aside(config):
    first, _ = credentials.create("Northlight Studio")
    before = snapshot(config)
    with pytest.raises(AlreadySetUp, match="nothing was changed"):
        credentials.create("Someone Else")
    assert snapshot(config) == before
    second, moved = credentials.create("Northlight Studio", replace=True)
    assert moved is not None and moved.parent == config / credentials.REPLACED
    assert second.fingerprint != first.fingerprint
    assert (moved / "signing.key").read_bytes() == before["credentials/signing.key"]
    anchors = credentials.trust_anchors()
    assert before["credentials/ca.pem"] in anchors and (credentials.folder() / "ca.pem").read_bytes() in anchors


@pytest.mark.parametrize("damage, words", [
    (lambda where: (where / "signing.key").unlink(), "signing key is missing"),
    (lambda where: (where / "signing.key").write_bytes(other_key_pem()), "does not belong to the certificate"),
    (lambda where: (where / "signing.key").write_text("not a key\n"), "not a PEM private key"),
    (lambda where: (where / "studio.json").write_text("{"), "not valid JSON"),
])
def test_a_broken_identity_is_one_line_naming_the_file(config, damage, words):
    credentials.create("Northlight Studio")
    damage(credentials.folder())
    with pytest.raises(CredentialsError, match=words) as caught:
        credentials.load()
    assert "\n" not in str(caught.value) and str(credentials.folder()) in str(caught.value)


def test_a_key_with_a_passphrase_is_refused_with_the_reason(config, tmp_path):
    chain, key = own_certificate(tmp_path / "mine")
    loaded = serialization.load_pem_private_key(key.read_bytes(), None)
    key.write_bytes(loaded.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(b"secret")))
    with pytest.raises(CredentialsError, match="passphrase"):
        credentials.use(chain, key)
    assert not config.exists()


# --- a certificate the studio already has ------------------------------------------------------------

def test_use_points_to_an_existing_certificate(config, tmp_path):
    chain, key = own_certificate(tmp_path / "bought")
    identity, _ = credentials.use(chain, key)
    assert identity.name == "Bought Cert Ltd" and identity.cert_path == chain and identity.key_path == key
    studio = json.loads((credentials.folder() / "studio.json").read_text())
    assert studio["cert"] == str(chain) and studio["key"] == str(key)
    assert not (credentials.folder() / "signing.key").exists()        # the key stays where it was
    assert credentials.load().fingerprint == identity.fingerprint
    top = x509.load_pem_x509_certificates(chain.read_bytes())[-1]
    assert credentials.trust_anchors() == top.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize("problem", ["wrong key", "missing key"])
def test_use_with_a_bad_key_writes_nothing(config, tmp_path, problem):
    chain, key = own_certificate(tmp_path / "bought")
    if problem == "wrong key":
        key.write_bytes(other_key_pem())
    else:
        key.unlink()
    result = CliRunner().invoke(main, ["credentials", "init", "--cert", str(chain), "--key", str(key)])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1 and str(key) in result.stderr
    assert not config.exists()


# --- a folder that cannot be written -----------------------------------------------------------------

def _make_read_only(folder: Path) -> None:
    """Read-only for this process: a chmod for others, the immutable flag for root (which ignores modes)."""
    if os.geteuid() != 0:
        folder.chmod(0o500)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)],
                                                        capture_output=True).returncode != 0:
        pytest.skip("running as root where the immutable flag cannot be set (no chattr or no "
                    "CAP_LINUX_IMMUTABLE): no way to make a folder read-only for root here")


def _make_writable(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    folder.chmod(0o755)


def test_a_read_only_config_folder_is_a_clear_error(config):
    config.mkdir(parents=True)
    _make_read_only(config)
    try:
        result = CliRunner().invoke(main, ["credentials", "init", "--name", "Northlight Studio"])
        assert result.exit_code == 1
        message = result.stderr.strip()
        assert len(message.splitlines()) == 1
        assert str(config) in message and credentials.CONFIG_ENV in message and "cannot write" in message
        assert not any(config.iterdir())
    finally:
        _make_writable(config)


# --- the commands ------------------------------------------------------------------------------------

def test_init_tells_where_and_how_to_back_up_and_never_prints_a_key(config):
    runner = CliRunner()
    result = runner.invoke(main, ["credentials", "init", "--name", "Northlight Studio"])
    assert result.exit_code == 0, result.output
    assert str(credentials.folder()) in result.output and "Back up" in result.output
    assert "tar czf" in result.output and "ca.pem" in result.output
    keys = [(credentials.folder() / name).read_text() for name in ("signing.key", "ca.key")]
    assert "PRIVATE KEY" not in result.output and not any(key.strip() in result.output for key in keys)

    again = runner.invoke(main, ["credentials", "init", "--name", "Other"])
    assert again.exit_code == 0 and "nothing was changed" in again.output and "--force" in again.output
    assert credentials.load().name == "Northlight Studio"

    shown = runner.invoke(main, ["credentials", "show"])
    identity = credentials.load()
    assert shown.exit_code == 0
    assert "Northlight Studio" in shown.output and identity.fingerprint in shown.output
    assert f"{identity.expires:%Y-%m-%d}" in shown.output and "PRIVATE KEY" not in shown.output

    forced = runner.invoke(main, ["credentials", "init", "--name", "Northlight Studio", "--force"])
    assert forced.exit_code == 0 and "moved to" in forced.output
    assert credentials.load().fingerprint != identity.fingerprint


def test_show_without_credentials_and_half_of_cert_and_key(config):
    runner = CliRunner()
    shown = runner.invoke(main, ["credentials", "show"])
    assert shown.exit_code == 2 and "credentials init" in shown.stderr
    half = runner.invoke(main, ["credentials", "init", "--cert", "x.pem"])
    assert half.exit_code == 2 and "--cert and --key go together" in half.output
