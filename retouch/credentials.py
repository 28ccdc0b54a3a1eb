"""The studio's signing identity for Content Credentials: a certificate and its private key, kept locally.

`create(name)` makes a small certificate authority of the studio's own (EC P-256, 20 years) and under it
an ES256 signing certificate (10 years) naming the studio, all with the `cryptography` package and
nothing from the network. `use(cert, key)` points to a certificate the studio already has (one bought
from a certificate authority, say) instead: its files stay where they are. Either way the identity lives
in CONFIG/credentials, CONFIG being $RETOUCH_CONFIG_DIR, else $XDG_CONFIG_HOME/retouch, else
~/.config/retouch:

    studio.json     the studio's name and where the certificate and key are
    signing.pem     the signing certificate, then the certificate authority's (the chain a signature carries)
    signing.key     the signing key (mode 0600)
    ca.pem, ca.key  the studio's certificate authority and its key (mode 0600), to issue a new signing
                    certificate some day; ca.pem is what a client needs to trust the studio's signatures
    anchors.pem     the root certificate(s) this machine trusts as the studio's own

An identity is never replaced silently: `create`/`use` refuse while one exists, and with `replace=True`
the old folder is moved to CONFIG/credentials-replaced/TIME, whose roots stay trusted on this machine
(the studio's older outputs still verify as its own). Keys are never printed; `Credentials.__repr__`
leaves them out. Errors are CredentialsError, one line naming the file and what to do.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONFIG_ENV = "RETOUCH_CONFIG_DIR"
FOLDER = "credentials"
REPLACED = "credentials-replaced"
STUDIO_FILE = "studio.json"
CA_YEARS, SIGNING_YEARS = 20, 10
_FILE_LIMIT = 1 << 20          # a certificate chain or key is a few kB


class CredentialsError(Exception):
    """Credentials that cannot be made, read or used; one line naming the file and what to do."""


class AlreadySetUp(CredentialsError):
    """An identity exists and was not to be replaced."""


def config_dir() -> Path:
    """retouch's configuration folder (see the module doc)."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "retouch"


def folder() -> Path:
    """Where the studio's identity is kept."""
    return config_dir() / FOLDER


@dataclass(frozen=True)
class Credentials:
    """A signing identity: the studio's name, its certificate chain (PEM, signing certificate first), its
    private key (PEM; never shown), the C2PA algorithm the key signs with, and the root certificates this
    machine trusts as the studio's own."""

    name: str
    chain: bytes = field(repr=False)
    key: bytes = field(repr=False)
    alg: str
    anchors: bytes = field(repr=False)
    cert_path: Path
    key_path: Path

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificates(self.chain)[0]

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the signing certificate, as colon-separated hex pairs."""
        return self.certificate.fingerprint(hashes.SHA256()).hex(":").upper()

    @property
    def expires(self) -> _dt.datetime:
        return self.certificate.not_valid_after_utc


# ------------------------------------------------------------------------------------------ reading

def _read(path: Path, what: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(_FILE_LIMIT + 1)
    except FileNotFoundError:
        raise CredentialsError(f"{path}: the {what} is missing; restore it from your backup, or run "
                               "`retouch credentials init --force` for a new identity") from None
    except OSError as error:
        raise CredentialsError(f"{path}: the {what} cannot be read ({error.strerror or error})") from None
    if len(data) > _FILE_LIMIT:
        raise CredentialsError(f"{path}: too large to be a {what}")
    return data


def _chain(path: Path) -> list[x509.Certificate]:
    try:
        chain = x509.load_pem_x509_certificates(_read(path, "certificate"))
    except ValueError:
        raise CredentialsError(f"{path}: not a PEM certificate (or chain of certificates)") from None
    return chain


def _private_key(path: Path):
    data = _read(path, "signing key")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise CredentialsError(f"{path}: the key is protected by a passphrase; retouch signs unattended and "
                               "needs an unencrypted key (keep the file mode 0600)") from None
    except (ValueError, UnsupportedAlgorithm):
        raise CredentialsError(f"{path}: not a PEM private key") from None


def _public_bytes(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _algorithm(key, path: Path) -> str:
    """The C2PA signing algorithm for a private key."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        found = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}.get(key.curve.name)
    elif isinstance(key, rsa.RSAPrivateKey):
        found = "ps256"
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        found = "ed25519"
    else:
        found = None
    if found is None:
        raise CredentialsError(f"{path}: a {type(key).__name__} cannot sign Content Credentials (use EC P-256, "
                               "P-384, P-521, RSA or Ed25519)")
    return found


def _pem(certificates: list[x509.Certificate]) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certificates)


def _checked(name: str, cert_path: Path, key_path: Path, anchors: bytes) -> Credentials:
    """Credentials from a chain and key file, with the key proven to belong to the certificate and the
    certificate within its validity."""
    chain, key = _chain(cert_path), _private_key(key_path)
    if _public_bytes(key.public_key()) != _public_bytes(chain[0].public_key()):
        raise CredentialsError(f"{key_path}: this key does not belong to the certificate in {cert_path}")
    now = _dt.datetime.now(_dt.timezone.utc)
    if not chain[0].not_valid_before_utc <= now <= chain[0].not_valid_after_utc:
        raise CredentialsError(f"{cert_path}: the certificate is valid from "
                               f"{chain[0].not_valid_before_utc:%Y-%m-%d} to {chain[0].not_valid_after_utc:%Y-%m-%d}, "
                               "not today; run "
                               "`retouch credentials init --force` for a new one")
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return Credentials(name, _pem(chain), key_pem, _algorithm(key, key_path), anchors, cert_path, key_path)


def _studio_file(where: Path) -> dict:
    path = where / STUDIO_FILE
    try:
        studio = json.loads(_read(path, "studio file"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CredentialsError(f"{path}: not valid JSON; run `retouch credentials init --force`") from None
    if not (isinstance(studio, dict) and all(isinstance(studio.get(key), str) for key in ("name", "cert", "key"))):
        raise CredentialsError(f"{path}: does not name the studio, its certificate and its key")
    return studio


def load() -> Credentials | None:
    """The studio's identity, or None where none was set up (outputs are then not signed).

    CredentialsError when one was set up but cannot be used: a certificate or key file missing or
    unreadable, a key that does not belong to the certificate, a certificate out of its validity."""
    where = folder()
    if not (where / STUDIO_FILE).exists():
        return None
    studio = _studio_file(where)
    anchors = _read(where / "anchors.pem", "trust anchor file")
    return _checked(studio["name"], where / studio["cert"], where / studio["key"], anchors)


def trust_anchors() -> bytes:
    """PEM roots this machine trusts as the studio's own: the current identity's and every replaced one's
    (unreadable ones are left out)."""
    found = []
    for candidate in (folder(), *sorted((config_dir() / REPLACED).glob("*"))):
        try:
            found.append((candidate / "anchors.pem").read_bytes())
        except OSError:
            continue
    return b"".join(found)


# ------------------------------------------------------------------------------------------ making

def _name(studio: str, suffix: str = "") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, studio + suffix),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, studio)])


def _usage(*, sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=not sign,
                         crl_sign=not sign, encipher_only=False, decipher_only=False)


def _years(start: _dt.datetime, years: int) -> _dt.datetime:
    return start + _dt.timedelta(days=365 * years + years // 4)


def make_chain(name: str) -> tuple[bytes, bytes, bytes, bytes]:
    """A new certificate authority for the studio and a signing certificate under it, as PEM:
    (CA certificate, CA key, signing chain (signing certificate then CA), signing key).

    The signing certificate is what C2PA asks of one: digitalSignature key usage, the emailProtection
    extended key usage, not a CA, authority and subject key identifiers."""
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    start = now - _dt.timedelta(minutes=5)          # clocks of other machines that check it may lag a little
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(name, " Content Credentials CA")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start)
          .not_valid_after(_years(now, CA_YEARS))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(_usage(sign=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    signing = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(ca_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number()).not_valid_before(start)
               .not_valid_after(_years(now, SIGNING_YEARS))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(_usage(sign=True), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                              critical=False)
               .sign(ca_key, hashes.SHA256()))

    def private(k) -> bytes:
        return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())
    return _pem([ca]), private(ca_key), _pem([signing, ca]), private(key)


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), mode)         # the umask may have narrowed it; keys must be exactly 0600
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _install(contents: dict[str, tuple[bytes, int]], *, replace: bool) -> Path | None:
    """Write `contents` ({name: (data, mode)}) as the credentials folder: into a fresh folder first, then
    renamed into place. Returns where an identity it replaced was moved."""
    config, where = config_dir(), folder()
    if (where / STUDIO_FILE).exists() and not replace:
        studio = _studio_file(where)
        raise AlreadySetUp(f"{where}: the studio credentials of {studio['name']!r} already exist; nothing was "
                           "changed (pass --force to replace them; the old ones are then kept aside)")
    staging = config / f".{FOLDER}-{os.getpid()}-{time.monotonic_ns()}"
    try:
        config.mkdir(parents=True, exist_ok=True)
        staging.mkdir(mode=0o700)
        for name, (data, mode) in contents.items():
            _write(staging / name, data, mode)
        moved = None
        if where.exists():
            moved = config / REPLACED / time.strftime("%Y%m%d-%H%M%S")
            while moved.exists():
                moved = moved.with_name(moved.name + "-1")
            moved.parent.mkdir(mode=0o700, exist_ok=True)
            os.rename(where, moved)
        os.rename(staging, where)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise CredentialsError(f"{error.filename or config}: cannot write the studio credentials here "
                               f"({error.strerror or error}); set {CONFIG_ENV} to a folder you can write"
                               ) from None
    return moved


def create(name: str, *, replace: bool = False) -> tuple[Credentials, Path | None]:
    """A new identity for the studio `name` (see the module doc); returns it and where a replaced one went."""
    name = " ".join(name.split())
    if not name:
        raise CredentialsError("the studio name is empty; pass --name \"Studio Name\"")
    ca, ca_key, chain, key = make_chain(name)
    from .provenance import check_signs       # provenance builds on this module
    check_signs(Credentials(name, chain, key, "es256", ca, Path("signing.pem"), Path("signing.key")))
    studio = {"name": name, "cert": "signing.pem", "key": "signing.key", "kind": "studio CA",
              "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()}
    moved = _install({"ca.pem": (ca, 0o644), "ca.key": (ca_key, 0o600), "signing.pem": (chain, 0o644),
                      "signing.key": (key, 0o600), "anchors.pem": (ca, 0o644),
                      STUDIO_FILE: (json.dumps(studio, indent=2).encode(), 0o644)}, replace=replace)
    return load(), moved


def use(cert: Path, key: Path, *, name: str | None = None, replace: bool = False
        ) -> tuple[Credentials, Path | None]:
    """Point to a certificate chain and key the studio already has (left where they are); the studio name
    defaults to the certificate's organisation or common name. Checked before anything is written: the
    key belongs to the certificate and it signs a test manifest."""
    cert, key = Path(cert).resolve(), Path(key).resolve()
    chain = _chain(cert)
    subject = chain[0].subject
    named = [a.value for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME)
             for a in subject.get_attributes_for_oid(oid)]
    studio_name = " ".join((name or (named[0] if named else "")).split()) or cert.stem
    anchors = _pem(chain[-1:])
    credentials = _checked(studio_name, cert, key, anchors)
    from .provenance import check_signs       # provenance builds on this module
    check_signs(credentials)
    studio = {"name": studio_name, "cert": str(cert), "key": str(key), "kind": "own certificate",
              "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()}
    moved = _install({"anchors.pem": (anchors, 0o644),
                      STUDIO_FILE: (json.dumps(studio, indent=2).encode(), 0o644)}, replace=replace)
    return load(), moved


def default_name() -> str:
    """The studio name when none is given: the user's full name where the system knows it, else the login."""
    import getpass
    try:
        import pwd
        full = pwd.getpwuid(os.getuid()).pw_gecos.split(",")[0].strip()
    except (ImportError, KeyError):
        full = ""
    return full or getpass.getuser()


def loose_key(identity: Credentials) -> str:
    """A warning when the signing key file may be read by others than its owner, else ""."""
    try:
        mode = identity.key_path.stat().st_mode & 0o777
    except OSError:
        return ""
    return (f"{identity.key_path}: the signing key can be read by others (mode {mode:04o}); run "
            f"chmod 600 {identity.key_path}") if mode & 0o077 else ""
